"""Trivial program for bench/overhead.py: measures interpreter + heapline start-up cost."""
pass
