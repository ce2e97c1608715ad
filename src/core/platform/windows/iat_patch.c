/* The native allocator layer on Windows, in-process mode: the import address
 * table (IAT) of every loaded PE module is walked, and each slot that imports
 * a hooked allocator (windows/crt_hooks.c) from a C runtime DLL is pointed at the
 * wrapper for that runtime. Slots importing LoadLibrary{A,W,ExA,ExW} are
 * pointed at hooks here that patch the modules loaded since, once the real
 * call returns; slots importing GetProcAddress, at a hook that hands out the
 * wrapper instead of a C runtime's allocator (ctypes' cdll.msvcrt.malloc), as
 * the dlsym hook does on Linux. hl_inprocess_stop() writes every slot back.
 *
 * The same walk points the C runtimes' `_exit` imports (os._exit) at a hook
 * that records the status in the tables' file and runs the exit callback
 * first, while one is set (hl_set_exit_hook).
 *
 * Only pointers are written, so the code is the same on x64 and ARM64.
 * heapline's own module is never patched.
 */
#include "footprint.h"
#include "hooks.h"
#include "tables_mem.h"

#include <psapi.h>
#include <string.h>

/* ---- the loader hooks ------------------------------------------------------- */
static HMODULE(WINAPI *real_LoadLibraryA)(LPCSTR);
static HMODULE(WINAPI *real_LoadLibraryW)(LPCWSTR);
static HMODULE(WINAPI *real_LoadLibraryExA)(LPCSTR, HANDLE, DWORD);
static HMODULE(WINAPI *real_LoadLibraryExW)(LPCWSTR, HANDLE, DWORD);
static FARPROC(WINAPI *real_GetProcAddress)(HMODULE, LPCSTR);
static _Atomic int active;

static void rescan_after_load(HMODULE h);

static HMODULE WINAPI hook_LoadLibraryA(LPCSTR name) {
    HMODULE h = real_LoadLibraryA(name);
    rescan_after_load(h);
    return h;
}
static HMODULE WINAPI hook_LoadLibraryW(LPCWSTR name) {
    HMODULE h = real_LoadLibraryW(name);
    rescan_after_load(h);
    return h;
}
static HMODULE WINAPI hook_LoadLibraryExA(LPCSTR name, HANDLE file, DWORD flags) {
    HMODULE h = real_LoadLibraryExA(name, file, flags);
    rescan_after_load(h);
    return h;
}
static HMODULE WINAPI hook_LoadLibraryExW(LPCWSTR name, HANDLE file, DWORD flags) {
    HMODULE h = real_LoadLibraryExW(name, file, flags);
    rescan_after_load(h);
    return h;
}

/* While the allocator hooks are on, a C runtime's allocator asked for by name
 * comes back as heapline's wrapper for it. (A pointer handed out stays one:
 * it keeps counting after hl_inprocess_stop, as on Linux.) */
static FARPROC WINAPI hook_GetProcAddress(HMODULE m, LPCSTR name) {
    FARPROC f = real_GetProcAddress(m, name);
    /* names below 64 Ki are ordinals */
    if (f == NULL || (uintptr_t)name < 0x10000 || !atomic_load(&active)) return f;
    int fn = hl_crt_fn_index(name);
    if (fn < 0) return f;
    DWORD err = GetLastError();
    void *original, *w;
    memcpy(&original, &f, sizeof f);
    w = hl_crt_wrapper_for(fn, original);
    SetLastError(err);
    if (w) memcpy(&f, &w, sizeof w);
    return f;
}

static const struct {
    const char *name;
    void *hook;
} loader_hooks[] = {
    {"LoadLibraryA", (void *)hook_LoadLibraryA},
    {"LoadLibraryW", (void *)hook_LoadLibraryW},
    {"LoadLibraryExA", (void *)hook_LoadLibraryExA},
    {"LoadLibraryExW", (void *)hook_LoadLibraryExW},
    {"GetProcAddress", (void *)hook_GetProcAddress},
};
#define N_LOADER_HOOKS (sizeof loader_hooks / sizeof loader_hooks[0])

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int starts_with_nocase(const char *s, const char *prefix) {
    for (; *prefix; s++, prefix++)
        if (lower((unsigned char)*s) != *prefix) return 0;
    return 1;
}

static int is_loader_dll(const char *dll) {
    return (starts_with_nocase(dll, "kernel32.dll") && dll[12] == 0) ||
           (starts_with_nocase(dll, "kernelbase.dll") && dll[14] == 0) ||
           starts_with_nocase(dll, "api-ms-win-core-libraryloader-");
}

static void resolve_loader(void) {
    if (real_LoadLibraryExW) return;
    /* kernelbase's own functions: kernel32's exports may be stubs that call
     * through kernel32's import table, which is patched (a loop) */
    HMODULE k = GetModuleHandleW(L"kernelbase.dll");
    if (k == NULL || GetProcAddress(k, "LoadLibraryExW") == NULL)
        k = GetModuleHandleW(L"kernel32.dll");
    FARPROC f;
#define LOOK(name)                                                                                 \
    f = GetProcAddress(k, #name);                                                                  \
    memcpy(&real_##name, &f, sizeof f)
    LOOK(LoadLibraryA);
    LOOK(LoadLibraryW);
    LOOK(LoadLibraryExA);
    LOOK(LoadLibraryExW);
    LOOK(GetProcAddress);
#undef LOOK
}

/* ---- state ------------------------------------------------------------------------- */
#define MAX_SLOTS      16384
#define MAX_EXIT_SLOTS 256
#define MAX_MODULES    4096

typedef struct {
    void **slot;
    void *old;
    HMODULE module; /* the module that owns the slot */
} patched_slot;

typedef struct {
    patched_slot *v;
    size_t n, cap;
} slot_list;

static patched_slot alloc_slot_store[MAX_SLOTS], exit_slot_store[MAX_EXIT_SLOTS];
static slot_list alloc_slots = {alloc_slot_store, 0, MAX_SLOTS};
static slot_list exit_slots = {exit_slot_store, 0, MAX_EXIT_SLOTS};
static HMODULE modules[MAX_MODULES]; /* scratch for EnumProcessModules */
static SRWLOCK patch_mu = SRWLOCK_INIT;
static uintptr_t self_lo, self_hi; /* heapline's own image */

static size_t image_size(HMODULE m) {
    const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)m;
    if (dos->e_magic != IMAGE_DOS_SIGNATURE) return 0;
    const IMAGE_NT_HEADERS *nt = (const IMAGE_NT_HEADERS *)((const char *)m + dos->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE) return 0;
    return nt->OptionalHeader.SizeOfImage;
}

static void find_self(void) {
    if (self_hi) return;
    HMODULE self = NULL;
    if (GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                               GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                           (LPCWSTR)(void *)find_self, &self)) {
        self_lo = (uintptr_t)self;
        self_hi = self_lo + image_size(self);
    }
}

static int into_self(const void *p) {
    return (uintptr_t)p >= self_lo && (uintptr_t)p < self_hi;
}

/* ---- _exit ------------------------------------------------------------------------------ */
/* One wrapper per C runtime's _exit (each calls its own runtime's). */
#define EXIT_RUNTIMES 4
static void(__cdecl *real_exit[EXIT_RUNTIMES])(int);
static _Atomic(hl_exit_fn) exit_hook;
static _Atomic int exiting;

static void run_exit_hook(int status) {
    hl_tables_record_exit(status); /* into the tables' file, if there is one */
    hl_exit_fn fn = atomic_load(&exit_hook);
    if (fn && !atomic_exchange(&exiting, 1)) fn(status);
}

#define EXIT_WRAPPER(i)                                                                            \
    static void __cdecl exit_wrapper_##i(int status) {                                             \
        run_exit_hook(status);                                                                     \
        real_exit[i](status);                                                                      \
    }
EXIT_WRAPPER(0)
EXIT_WRAPPER(1)
EXIT_WRAPPER(2)
EXIT_WRAPPER(3)
static void(__cdecl *const exit_wrappers[EXIT_RUNTIMES])(int) = {exit_wrapper_0, exit_wrapper_1,
                                                                 exit_wrapper_2, exit_wrapper_3};

/* The wrapper for the _exit that an import slot holds now. Called with the
 * patching lock held. */
static void *exit_wrapper_for(void *original) {
    for (int i = 0; i < EXIT_RUNTIMES; i++) {
        void *known;
        memcpy(&known, &real_exit[i], sizeof known);
        if (known == NULL) memcpy(&real_exit[i], &original, sizeof original);
        if (known == NULL || known == original) {
            void *w;
            memcpy(&w, &exit_wrappers[i], sizeof w);
            return w;
        }
    }
    return NULL;
}

/* The DLLs a module's _exit comes from: a C runtime, or UCRT's API set. */
static int is_exit_dll(const char *dll) {
    return hl_crt_is_runtime_dll(dll) || starts_with_nocase(dll, "api-ms-win-crt-runtime-l1-");
}

/* ---- walking import tables ------------------------------------------------------------ */
/* What a walk patches: the allocators and the loader functions, or _exit. */
enum { WALK_ALLOC, WALK_EXIT };
enum { DLL_CRT = 1, DLL_LOADER = 2, DLL_EXIT = 3 };

/* Called for each import slot of a hooked name; `hook` is what it should
 * point at (NULL when the runtime is not usable). */
typedef void (*slot_visit)(HMODULE m, void **slot, void *hook, void *ctx);

static void *hook_for(int kind, const char *fn, void *current) {
    if (kind == DLL_EXIT) return into_self(current) ? current : exit_wrapper_for(current);
    if (kind == DLL_CRT) {
        int i = hl_crt_fn_index(fn);
        if (i < 0) return NULL;
        if (into_self(current)) return current; /* already ours */
        return hl_crt_wrapper_for(i, current);
    }
    for (size_t i = 0; i < N_LOADER_HOOKS; i++)
        if (strcmp(loader_hooks[i].name, fn) == 0) return loader_hooks[i].hook;
    return NULL;
}

static int hooked_name(int kind, const char *fn) {
    if (kind == DLL_EXIT) return strcmp(fn, "_exit") == 0;
    if (kind == DLL_CRT) return hl_crt_fn_index(fn) >= 0;
    for (size_t i = 0; i < N_LOADER_HOOKS; i++)
        if (strcmp(loader_hooks[i].name, fn) == 0) return 1;
    return 0;
}

static void visit_module(HMODULE m, int walk, slot_visit visit, void *ctx) {
    const char *base = (const char *)m;
    if (image_size(m) == 0) return;
    const IMAGE_NT_HEADERS *nt =
        (const IMAGE_NT_HEADERS *)(base + ((const IMAGE_DOS_HEADER *)m)->e_lfanew);
    if (nt->OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR_MAGIC) return;
    const IMAGE_DATA_DIRECTORY *dir =
        &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
    if (dir->VirtualAddress == 0 || dir->Size == 0) return;
    const IMAGE_IMPORT_DESCRIPTOR *d =
        (const IMAGE_IMPORT_DESCRIPTOR *)(base + dir->VirtualAddress);
    for (; d->Name != 0 && d->FirstThunk != 0; d++) {
        const char *dll = base + d->Name;
        /* both walks hook the loader, so that DLLs loaded later are patched */
        int kind = 0;
        if (is_loader_dll(dll))
            kind = DLL_LOADER;
        else if (walk == WALK_EXIT)
            kind = is_exit_dll(dll) ? DLL_EXIT : 0;
        else if (hl_crt_is_runtime_dll(dll))
            kind = DLL_CRT;
        if (!kind) continue;
        /* OriginalFirstThunk holds the names; without it (old linkers) the
         * names are lost once bound, and the module is left alone */
        if (d->OriginalFirstThunk == 0) continue;
        const IMAGE_THUNK_DATA *names = (const IMAGE_THUNK_DATA *)(base + d->OriginalFirstThunk);
        IMAGE_THUNK_DATA *iat = (IMAGE_THUNK_DATA *)(base + d->FirstThunk);
        for (size_t i = 0; names[i].u1.AddressOfData != 0; i++) {
            if (IMAGE_SNAP_BY_ORDINAL(names[i].u1.Ordinal)) continue;
            const IMAGE_IMPORT_BY_NAME *ibn =
                (const IMAGE_IMPORT_BY_NAME *)(base + names[i].u1.AddressOfData);
            const char *fn = (const char *)ibn->Name;
            if (!hooked_name(kind, fn)) continue;
            void **slot = (void **)&iat[i].u1.Function;
            visit(m, slot, hook_for(kind, fn, *slot), ctx);
        }
    }
}

/* The module's own name, from its export directory ("" when it has none). */
static const char *export_name(HMODULE m) {
    const char *base = (const char *)m;
    const IMAGE_NT_HEADERS *nt =
        (const IMAGE_NT_HEADERS *)(base + ((const IMAGE_DOS_HEADER *)m)->e_lfanew);
    const IMAGE_DATA_DIRECTORY *dir =
        &nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    if (dir->VirtualAddress == 0 || dir->Size == 0) return "";
    const IMAGE_EXPORT_DIRECTORY *e = (const IMAGE_EXPORT_DIRECTORY *)(base + dir->VirtualAddress);
    return e->Name ? base + e->Name : "";
}

/* The C runtimes and the system's loader DLLs are left alone: their internal
 * calls are not the program's (a runtime forwarding to another would count
 * twice), and a loader export that calls through its own import table would
 * loop back into the hook. */
static int skip_module(HMODULE m) {
    if ((uintptr_t)m == self_lo || image_size(m) == 0) return 1;
    const char *n = export_name(m);
    return hl_crt_is_runtime_dll(n) || is_loader_dll(n) ||
           (starts_with_nocase(n, "ntdll.dll") && n[9] == 0) ||
           starts_with_nocase(n, "api-ms-win-");
}

/* Every loaded module but heapline's own; returns the count in `modules`. */
static size_t list_modules(void) {
    DWORD need = 0;
    if (!EnumProcessModules(GetCurrentProcess(), modules, sizeof modules, &need)) return 0;
    size_t n = need / sizeof(HMODULE);
    if (n > MAX_MODULES) n = MAX_MODULES;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!skip_module(modules[i])) modules[k++] = modules[i];
    return k;
}

/* ---- writing slots ---------------------------------------------------------------------- */
static int writable(DWORD prot) {
    return (prot & (PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE |
                    PAGE_EXECUTE_WRITECOPY)) != 0;
}

static int write_slot(void **slot, void *value) {
    MEMORY_BASIC_INFORMATION mbi;
    if (!VirtualQuery(slot, &mbi, sizeof mbi) || mbi.State != MEM_COMMIT) return 0;
    DWORD prot = mbi.Protect & 0xff;
    if (writable(prot)) {
        __atomic_store_n(slot, value, __ATOMIC_RELEASE);
        return 1;
    }
    int exec = (prot & (PAGE_EXECUTE | PAGE_EXECUTE_READ)) != 0;
    DWORD old;
    if (!VirtualProtect(slot, sizeof *slot, exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE, &old))
        return 0;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    VirtualProtect(slot, sizeof *slot, old, &old);
    return 1;
}

/* ctx: the slot_list that records the slot */
static void patch_slot(HMODULE m, void **slot, void *hook, void *ctx) {
    slot_list *list = ctx;
    void *cur = *slot;
    if (hook == NULL || cur == hook || into_self(cur)) return;
    if (list->n == list->cap) return;
    if (write_slot(slot, hook)) {
        list->v[list->n].slot = slot;
        list->v[list->n].old = cur;
        list->v[list->n].module = m;
        list->n++;
    }
}

/* Patches every module not patched yet (a patched slot is skipped, so running
 * it again only touches modules loaded since). Called with patch_mu held. */
static void scan_all(int walk) {
    size_t n = list_modules();
    for (size_t i = 0; i < n; i++)
        visit_module(modules[i], walk, patch_slot, walk == WALK_EXIT ? &exit_slots : &alloc_slots);
}

/* A slot's module is still the image it was when we patched it. */
static int still_mapped(const patched_slot *s) {
    MEMORY_BASIC_INFORMATION mbi;
    return VirtualQuery(s->slot, &mbi, sizeof mbi) && mbi.State == MEM_COMMIT &&
           mbi.Type == MEM_IMAGE && mbi.AllocationBase == (void *)s->module;
}

/* Writes back every slot of the list, newest first. Called with patch_mu held. */
static void unpatch_all(slot_list *list) {
    for (size_t i = list->n; i-- > 0;) {
        patched_slot *s = &list->v[i];
        if (still_mapped(s) && into_self(*s->slot)) write_slot(s->slot, s->old);
    }
    list->n = 0;
}

static void rescan_after_load(HMODULE h) {
    if (h == NULL) return;
    if (!atomic_load_explicit(&active, memory_order_acquire) && !atomic_load(&exit_hook)) return;
    DWORD err = GetLastError();
    AcquireSRWLockExclusive(&patch_mu);
    if (atomic_load(&active)) scan_all(WALK_ALLOC);
    if (atomic_load(&exit_hook)) scan_all(WALK_EXIT);
    ReleaseSRWLockExclusive(&patch_mu);
    SetLastError(err);
}

/* ---- the interface -------------------------------------------------------------------- */
int hl_inprocess_start(void) {
    AcquireSRWLockExclusive(&patch_mu);
    if (!atomic_load(&active)) {
        find_self();
        resolve_loader();
        hl_footprint_set_baseline(hl_crt_heap_in_use());
        atomic_store(&active, 1);
        scan_all(WALK_ALLOC);
    }
    ReleaseSRWLockExclusive(&patch_mu);
    return 1;
}

void hl_inprocess_stop(void) {
    AcquireSRWLockExclusive(&patch_mu);
    atomic_store(&active, 0);
    unpatch_all(&alloc_slots);
    if (atomic_load(&exit_hook)) scan_all(WALK_EXIT); /* the loader hooks it still needs */
    ReleaseSRWLockExclusive(&patch_mu);
}

int hl_inprocess_active(void) {
    return atomic_load(&active);
}

int hl_native_hooks_active(void) {
    return atomic_load(&active);
}

/* Patches the _exit imports of the loaded modules while a hook is set (and of
 * modules loaded later through a hooked LoadLibrary*); writes them back when
 * the hook is cleared. */
void hl_set_exit_hook(hl_exit_fn fn) {
    AcquireSRWLockExclusive(&patch_mu);
    find_self();
    resolve_loader();
    atomic_store(&exit_hook, fn);
    if (fn) {
        scan_all(WALK_EXIT);
    } else {
        unpatch_all(&exit_slots);
        if (atomic_load(&active)) scan_all(WALK_ALLOC); /* the loader hooks it still needs */
    }
    ReleaseSRWLockExclusive(&patch_mu);
}

static void count_slot(HMODULE m, void **slot, void *hook, void *ctx) {
    (void)m;
    (void)hook;
    if (into_self(*slot)) ++*(size_t *)ctx;
}

size_t hl_got_slots_into_heapline(void) {
    size_t count = 0;
    AcquireSRWLockExclusive(&patch_mu);
    find_self();
    size_t n = list_modules();
    for (size_t i = 0; i < n; i++)
        visit_module(modules[i], WALK_ALLOC, count_slot, &count);
    ReleaseSRWLockExclusive(&patch_mu);
    return count;
}
