/* Line lookup callback registered with the core (frame_walk.c). */
#ifndef HEAPLINE_FRAME_WALK_H
#define HEAPLINE_FRAME_WALK_H

#include "heapline.h"

int heapline_where(hl_site *out);

#endif
