// Giving the allocator's free memory back: tcmalloc's release when the binary links it, else glibc's malloc_trim.
#include <gatehouse/server/memory_release.hpp>

#include <malloc.h>

// tcmalloc's C interface (gperftools' malloc_extension_c.h), referenced weakly: only the gatehouse binary links
// tcmalloc_minimal (cmake/sources.cmake); elsewhere these stay null and glibc's malloc is the allocator.
extern "C" {
__attribute__((weak)) void MallocExtension_MarkThreadTemporarilyIdle();
__attribute__((weak)) void MallocExtension_ReleaseFreeMemory();
}

namespace gatehouse::server {

bool allocator_is_tcmalloc() noexcept {
    return MallocExtension_ReleaseFreeMemory != nullptr && MallocExtension_MarkThreadTemporarilyIdle != nullptr;
}

void release_free_memory() noexcept {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return;  // the sanitizer's allocator keeps its quarantine and shadow memory whatever is asked
#else
    if (allocator_is_tcmalloc()) {
        MallocExtension_MarkThreadTemporarilyIdle();  // this worker's thread cache back to the central lists
        MallocExtension_ReleaseFreeMemory();          // and whole free pages back to the system
        return;
    }
    malloc_trim(0);
#endif
}

}  // namespace gatehouse::server
