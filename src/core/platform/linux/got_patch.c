/* The native allocator layer on Linux, in-process mode (no LD_PRELOAD): the
 * import slots (GOT entries, JUMP_SLOT and GLOB_DAT relocations) of every
 * loaded ELF module that name a malloc-family function, anonymous mmap/munmap,
 * dlsym or dlopen are rewritten to point at this library's hooks, the same
 * functions preload mode uses. Modules loaded later are patched when the
 * dlopen hook returns. hl_inprocess_stop() writes every slot back. With
 * another allocator preloaded (jemalloc, ...), a slot still bound to glibc's
 * own malloc family gets the wrapper for glibc's functions instead
 * (linux/native_hooks.c, "other allocators").
 *
 * The dlopen hook has to call the real dlopen from here, which hides the
 * caller: glibc resolves a bare library name through the *caller's* RPATH /
 * RUNPATH (with $ORIGIN), so the hook does that search itself, in glibc's
 * order, and passes the path it found.
 */
/* mmap and mmap64 are separate names here, as in linux/native_hooks.c */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "hooks.h"

#include "footprint.h"

#include <dlfcn.h>
#include <elf.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define R_GLOB_DAT  R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB_DAT  R_AARCH64_GLOB_DAT
#else
#error "GOT patching: unsupported architecture"
#endif

/* ---- the hooks ------------------------------------------------------------ */
static void *(*real_dlopen)(const char *, int);
static void *hooked_dlopen(const char *file, int mode);

typedef struct {
    const char *name;
    void *hook;
} hook_entry;

static hook_entry hooks[24];
static size_t nhooks;

static void add_hook(const char *name, void *fn) {
    hooks[nhooks].name = name;
    hooks[nhooks].hook = fn;
    nhooks++;
}

static void init_hooks(void) {
    if (nhooks) return;
    /* this library's own definitions of these names (hidden aliases: a plain
     * reference would bind to libc's when this library is not preloaded) */
    add_hook("malloc", (void *)hl_hook_malloc);
    add_hook("calloc", (void *)hl_hook_calloc);
    add_hook("realloc", (void *)hl_hook_realloc);
    add_hook("free", (void *)hl_hook_free);
    add_hook("posix_memalign", (void *)hl_hook_posix_memalign);
    add_hook("aligned_alloc", (void *)hl_hook_aligned_alloc);
    add_hook("memalign", (void *)hl_hook_memalign);
    add_hook("valloc", (void *)hl_hook_valloc);
    add_hook("pvalloc", (void *)hl_hook_pvalloc);
    add_hook("mmap", (void *)hl_hook_mmap);
    add_hook("mmap64", (void *)hl_hook_mmap64);
    add_hook("munmap", (void *)hl_hook_munmap);
    add_hook("dlsym", (void *)hl_hook_dlsym);
    add_hook("_exit", (void *)hl_hook_exit); /* os._exit: the profile is written first */
    add_hook("dlopen", (void *)hooked_dlopen);
    *(void **)&real_dlopen = hl_real_dlsym(RTLD_NEXT, "dlopen");
}

static void *hook_named(const char *name) {
    for (size_t i = 0; i < nhooks; i++)
        if (strcmp(hooks[i].name, name) == 0) return hooks[i].hook;
    return NULL;
}

/* ---- patched slots ---------------------------------------------------------- */
#define MAX_SLOTS   16384
#define MAX_MODULES 4096

typedef struct {
    uintptr_t *slot;
    uintptr_t old;
    uintptr_t module; /* base address of the module that owns the slot */
} patched_slot;

/* The slots a walk patched, to write back later (cap entries). */
typedef struct {
    patched_slot *v;
    size_t n, cap;
} slot_list;

static patched_slot alloc_slot_store[MAX_SLOTS];
static slot_list alloc_slots = {alloc_slot_store, 0, MAX_SLOTS};
static uintptr_t scanned[MAX_MODULES]; /* module bases already patched */
static size_t nscanned;
static pthread_mutex_t patch_mu = PTHREAD_MUTEX_INITIALIZER;
static int active;
static uintptr_t self_base;

static int was_scanned(uintptr_t base) {
    for (size_t i = 0; i < nscanned; i++)
        if (scanned[i] == base) return 1;
    return 0;
}

static void write_slot(uintptr_t *slot, uintptr_t value, int relro) {
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t page = (uintptr_t)slot & ~(uintptr_t)(ps - 1);
    size_t len =
        ((uintptr_t)slot + sizeof *slot > page + (uintptr_t)ps) ? 2 * (size_t)ps : (size_t)ps;
    if (relro) mprotect((void *)page, len, PROT_READ | PROT_WRITE);
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    if (relro) mprotect((void *)page, len, PROT_READ);
}

typedef struct {
    uintptr_t base;
    const ElfW(Phdr) * phdr;
    int phnum;
} module_info;

static int in_relro(const module_info *m, uintptr_t addr) {
    for (int i = 0; i < m->phnum; i++) {
        const ElfW(Phdr) *p = &m->phdr[i];
        if (p->p_type == PT_GNU_RELRO) {
            uintptr_t s = m->base + p->p_vaddr;
            if (addr >= s && addr < s + p->p_memsz) return 1;
        }
    }
    return 0;
}

static uintptr_t dyn_ptr(uintptr_t base, ElfW(Addr) v) {
    /* glibc relocates most dynamic entries in place; the vDSO's are not */
    return v < base ? base + v : v;
}

/* What to do with each import slot that names a hooked function. */
typedef void (*slot_visit)(const module_info *m, uintptr_t *slot, void *hook, void *ctx);

static void visit_relocs(const module_info *m, const void *rel, size_t size, int is_rela,
                         const ElfW(Sym) * symtab, const char *strtab, slot_visit visit,
                         void *ctx) {
    size_t entsz = is_rela ? sizeof(ElfW(Rela)) : sizeof(ElfW(Rel));
    for (size_t off = 0; off + entsz <= size; off += entsz) {
        ElfW(Addr) r_offset;
        ElfW(Xword) r_info;
        if (is_rela) {
            const ElfW(Rela) *r = (const ElfW(Rela) *)((const char *)rel + off);
            r_offset = r->r_offset;
            r_info = r->r_info;
        } else {
            const ElfW(Rel) *r = (const ElfW(Rel) *)((const char *)rel + off);
            r_offset = r->r_offset;
            r_info = r->r_info;
        }
#if __ELF_NATIVE_CLASS == 64
        unsigned type = (unsigned)ELF64_R_TYPE(r_info);
        size_t sym = ELF64_R_SYM(r_info);
#else
        unsigned type = ELF32_R_TYPE(r_info);
        size_t sym = ELF32_R_SYM(r_info);
#endif
        if ((type != R_JUMP_SLOT && type != R_GLOB_DAT) || sym == 0) continue;
        const char *name = strtab + symtab[sym].st_name;
        void *hook = hook_named(name);
        if (hook) visit(m, (uintptr_t *)(m->base + r_offset), hook, ctx);
    }
}

/* Points `slot` at `hook`, recording its old value in `list`. */
static void patch_into(slot_list *list, const module_info *m, uintptr_t *slot, void *hook) {
    uintptr_t old = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (old == (uintptr_t)hook || list->n >= list->cap) return;
    list->v[list->n].slot = slot;
    list->v[list->n].old = old;
    list->v[list->n].module = m->base;
    list->n++;
    write_slot(slot, (uintptr_t)hook, in_relro(m, (uintptr_t)slot));
}

static void patch_slot(const module_info *m, uintptr_t *slot, void *hook, void *ctx) {
    (void)ctx;
    /* With another allocator preloaded (jemalloc, ...), the hooks call its
     * functions. A slot that is bound to glibc's own malloc family instead (a
     * module loaded with RTLD_DEEPBIND finds libc's definitions first) gets the
     * wrapper that calls glibc's: its blocks, older ones included, stay in
     * the heap they came from. (A slot not bound yet, lazy binding, gets the
     * plain hook.) */
    void *own = hl_libc_own_hook((void *)__atomic_load_n(slot, __ATOMIC_ACQUIRE));
    patch_into(&alloc_slots, m, slot, own ? own : hook);
}

/* _exit slots patched for the exit hook alone (patch_exit), when the
 * allocator hooks are off: os._exit must write the profile of CPU-only runs. */
#define MAX_EXIT_SLOTS 64
static patched_slot exit_slot_store[MAX_EXIT_SLOTS];
static slot_list exit_slots = {exit_slot_store, 0, MAX_EXIT_SLOTS};
static int exit_patching; /* patch_exit(1) was called last */

static void patch_exit_slot(const module_info *m, uintptr_t *slot, void *hook, void *ctx) {
    (void)ctx;
    if (hook == (void *)hl_hook_exit) patch_into(&exit_slots, m, slot, hook);
}

static void visit_module(const module_info *m, slot_visit visit, void *ctx) {
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < m->phnum; i++)
        if (m->phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(m->base + m->phdr[i].p_vaddr);
    if (!dyn) return;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    uintptr_t jmprel = 0, rela = 0, rel = 0;
    size_t pltrelsz = 0, relasz = 0, relsz = 0;
    long pltrel = DT_RELA;
    for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB:
            symtab = (const ElfW(Sym) *)dyn_ptr(m->base, d->d_un.d_ptr);
            break;
        case DT_STRTAB:
            strtab = (const char *)dyn_ptr(m->base, d->d_un.d_ptr);
            break;
        case DT_JMPREL:
            jmprel = dyn_ptr(m->base, d->d_un.d_ptr);
            break;
        case DT_PLTRELSZ:
            pltrelsz = d->d_un.d_val;
            break;
        case DT_PLTREL:
            pltrel = (long)d->d_un.d_val;
            break;
        case DT_RELA:
            rela = dyn_ptr(m->base, d->d_un.d_ptr);
            break;
        case DT_RELASZ:
            relasz = d->d_un.d_val;
            break;
        case DT_REL:
            rel = dyn_ptr(m->base, d->d_un.d_ptr);
            break;
        case DT_RELSZ:
            relsz = d->d_un.d_val;
            break;
        default:
            break;
        }
    }
    if (!symtab || !strtab) return;
    if (jmprel)
        visit_relocs(m, (const void *)jmprel, pltrelsz, pltrel == DT_RELA, symtab, strtab, visit,
                     ctx);
    if (rela) visit_relocs(m, (const void *)rela, relasz, 1, symtab, strtab, visit, ctx);
    if (rel) visit_relocs(m, (const void *)rel, relsz, 0, symtab, strtab, visit, ctx);
}

static int skip_module(const struct dl_phdr_info *info) {
    const char *n = info->dlpi_name ? info->dlpi_name : "";
    if (info->dlpi_addr == self_base) return 1; /* heapline itself */
    if (strstr(n, "linux-vdso") || strstr(n, "linux-gate")) return 1;
    if (strstr(n, "/ld-linux") || strncmp(n, "ld-linux", 8) == 0 || strstr(n, "/ld-musl"))
        return 1; /* the dynamic loader has its own allocator */
    return 0;
}

static int scan_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    if (skip_module(info) || was_scanned(info->dlpi_addr)) return 0;
    if (nscanned < MAX_MODULES) scanned[nscanned++] = info->dlpi_addr;
    module_info m = {info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
    visit_module(&m, patch_slot, NULL);
    return 0;
}

/* ---- dlopen: the caller's library search ------------------------------------ */
static int try_dir(const char *dir, size_t dlen, const char *origin, const char *file,
                   char out[PATH_MAX]) {
    char buf[PATH_MAX];
    size_t k = 0;
    for (size_t i = 0; i < dlen && k < sizeof buf - 1;) {
        const char *tok = NULL;
        size_t toklen = 0;
        if (strncmp(dir + i, "$ORIGIN", 7) == 0) {
            tok = origin;
            toklen = 7;
        } else if (strncmp(dir + i, "${ORIGIN}", 9) == 0) {
            tok = origin;
            toklen = 9;
        }
        if (tok && toklen <= dlen - i) {
            size_t ol = strlen(origin);
            if (k + ol >= sizeof buf) return 0;
            memcpy(buf + k, origin, ol);
            k += ol;
            i += toklen;
        } else {
            buf[k++] = dir[i++];
        }
    }
    size_t fl = strlen(file);
    if (k + 1 + fl >= PATH_MAX) return 0;
    buf[k] = 0;
    if (k == 0) return 0;
    memcpy(out, buf, k);
    out[k] = '/';
    memcpy(out + k + 1, file, fl + 1);
    return access(out, F_OK) == 0;
}

static int search_list(const char *list, const char *origin, const char *file, char out[PATH_MAX]) {
    if (!list) return 0;
    const char *p = list;
    while (*p) {
        const char *e = strpbrk(p, ":;");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && try_dir(p, n, origin, file, out)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* Fills `out` with the path glibc would find `file` at for a dlopen from
 * `caller`, when the caller's RPATH/RUNPATH decides it; 0 otherwise. */
static int resolve_like_caller(const char *file, const void *caller, char out[PATH_MAX]) {
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm || !lm->l_ld) return 0;
    void *already = real_dlopen(file, RTLD_LAZY | RTLD_NOLOAD);
    if (already) { /* loaded objects match by name, whoever asks */
        dlclose(already);
        return 0;
    }
    const char *strtab = NULL;
    ElfW(Addr) rpath = 0, runpath = 0;
    int has_rpath = 0, has_runpath = 0;
    for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_STRTAB) strtab = (const char *)dyn_ptr(lm->l_addr, d->d_un.d_ptr);
        if (d->d_tag == DT_RPATH) rpath = d->d_un.d_val, has_rpath = 1;
        if (d->d_tag == DT_RUNPATH) runpath = d->d_un.d_val, has_runpath = 1;
    }
    if (!strtab || (!has_rpath && !has_runpath)) return 0;
    char origin[PATH_MAX];
    const char *name = lm->l_name && lm->l_name[0] ? lm->l_name : NULL;
    char exe[PATH_MAX];
    if (!name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return 0;
        exe[n] = 0;
        name = exe;
    }
    if (!realpath(name, origin)) return 0;
    char *slash = strrchr(origin, '/');
    if (slash) *slash = 0;
    /* glibc's order: DT_RPATH (only without DT_RUNPATH), LD_LIBRARY_PATH,
     * DT_RUNPATH, then the cache and default directories (caller-independent) */
    if (has_rpath && !has_runpath && search_list(strtab + rpath, origin, file, out)) return 1;
    if (search_list(getenv("LD_LIBRARY_PATH"), origin, file, out)) return 0; /* same for all */
    if (has_runpath && search_list(strtab + runpath, origin, file, out)) return 1;
    return 0;
}

static void *hooked_dlopen(const char *file, int mode) {
    const void *caller = __builtin_return_address(0);
    char path[PATH_MAX];
    const char *use = file;
    if (file && !strchr(file, '/') && resolve_like_caller(file, caller, path)) use = path;
    void *h = real_dlopen(use, mode);
    if (h) {
        pthread_mutex_lock(&patch_mu);
        if (active) dl_iterate_phdr(scan_cb, NULL);
        pthread_mutex_unlock(&patch_mu);
    }
    return h;
}

/* ---- start / stop ------------------------------------------------------------- */
/* data: the slot_list to write back */
static int restore_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    slot_list *list = data;
    module_info m = {info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
    for (size_t i = 0; i < list->n; i++) {
        patched_slot *s = &list->v[i];
        if (s->module != info->dlpi_addr || s->slot == NULL) continue;
        write_slot(s->slot, s->old, in_relro(&m, (uintptr_t)s->slot));
        s->slot = NULL;
    }
    return 0;
}

/* Writes back the slots of `list` in the modules still loaded (a dlclose'd
 * one's slots are gone). */
static void restore_all(slot_list *list) {
    dl_iterate_phdr(restore_cb, list);
    list->n = 0;
}

static int exit_scan_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    if (skip_module(info)) return 0;
    module_info m = {info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
    visit_module(&m, patch_exit_slot, NULL);
    return 0;
}

static void find_self(void) {
    Dl_info self;
    if (!self_base && dladdr((void *)hl_inprocess_start, &self))
        self_base = (uintptr_t)self.dli_fbase;
}

/* Patches (on) or restores (off) the _exit import slots of every loaded
 * module, apart from the allocator hooks; nothing when preloaded. */
static void patch_exit(int on) {
    if (hl_preloaded()) return; /* _exit already comes here */
    pthread_mutex_lock(&patch_mu);
    find_self();
    init_hooks();
    exit_patching = on;
    if (on) {
        dl_iterate_phdr(exit_scan_cb, NULL);
    } else {
        restore_all(&exit_slots);
    }
    pthread_mutex_unlock(&patch_mu);
}

int hl_inprocess_start(void) {
    if (hl_preloaded()) return 0; /* every call already comes here */
    pthread_mutex_lock(&patch_mu);
    if (!active) {
        find_self();
        init_hooks();
        /* bytes already allocated when hooking starts: frees of them will be
         * subtracted, so the footprint starts from malloc's own figure */
        struct mallinfo2 mi = mallinfo2();
        hl_footprint_set_baseline((int64_t)(mi.uordblks + mi.hblkhd));
        active = 1;
        nscanned = 0;
        dl_iterate_phdr(scan_cb, NULL);
    }
    pthread_mutex_unlock(&patch_mu);
    return 1;
}

void hl_inprocess_stop(void) {
    pthread_mutex_lock(&patch_mu);
    if (active) {
        restore_all(&alloc_slots);
        nscanned = 0;
        active = 0;
        /* the _exit slots that the allocator walk had taken over */
        if (exit_patching) dl_iterate_phdr(exit_scan_cb, NULL);
    }
    pthread_mutex_unlock(&patch_mu);
}

int hl_inprocess_active(void) {
    return active;
}

int hl_native_hooks_active(void) {
    return hl_preloaded() || active;
}

void hl_set_exit_hook(hl_exit_fn fn) {
    hl_exit_hook_store(fn);
    patch_exit(fn != NULL); /* in-process: route _exit here */
}

/* ---- checking ------------------------------------------------------------------ */
static int self_range_cb(struct dl_phdr_info *info, size_t size, void *data);
typedef struct {
    uintptr_t lo, hi;
    size_t count;
} range_count;

static void count_slot(const module_info *m, uintptr_t *slot, void *hook, void *ctx) {
    (void)m;
    (void)hook;
    range_count *rc = ctx;
    uintptr_t v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (v >= rc->lo && v < rc->hi) rc->count++;
}

static int count_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    if (skip_module(info)) return 0;
    module_info m = {info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
    visit_module(&m, count_slot, data);
    return 0;
}

size_t hl_got_slots_into_heapline(void) {
    /* an independent look at every module's import slots for hooked names:
     * how many hold an address inside this library */
    range_count rc = {UINTPTR_MAX, 0, 0};
    pthread_mutex_lock(&patch_mu);
    init_hooks();
    dl_iterate_phdr(self_range_cb, &rc);
    dl_iterate_phdr(count_cb, &rc);
    pthread_mutex_unlock(&patch_mu);
    return rc.count;
}

static int self_range_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    Dl_info self;
    if (!dladdr((void *)hl_got_slots_into_heapline, &self) ||
        info->dlpi_addr != (uintptr_t)self.dli_fbase)
        return 0;
    range_count *rc = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD) continue;
        uintptr_t s = info->dlpi_addr + p->p_vaddr, e = s + p->p_memsz;
        if (s < rc->lo) rc->lo = s;
        if (e > rc->hi) rc->hi = e;
    }
    return 0;
}
