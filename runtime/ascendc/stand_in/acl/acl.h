// A host stand-in for the part of the CANN runtime API (acl/acl.h) that pakv's printed
// host code and its C entry use: streams, device memory, copies. Declarations follow
// the public aclrt* documentation; "device memory" is host memory that the kernel
// stand-in (kernel_operator.h) registers as GM, so kernels see it bounds-checked.
#ifndef PAKV_ASCENDC_HOST_ACL_H
#define PAKV_ASCENDC_HOST_ACL_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernel_operator.h"

using aclError = int;
using aclrtStream = void*;

constexpr aclError ACL_SUCCESS = 0;
constexpr aclError ACL_ERROR_INVALID_PARAM = 100000;
constexpr aclError ACL_ERROR_BAD_ALLOC = 200000;

enum aclrtMemMallocPolicy {
    ACL_MEM_MALLOC_HUGE_FIRST,
    ACL_MEM_MALLOC_HUGE_ONLY,
    ACL_MEM_MALLOC_NORMAL_ONLY,
};

enum aclrtMemcpyKind {
    ACL_MEMCPY_HOST_TO_HOST,
    ACL_MEMCPY_HOST_TO_DEVICE,
    ACL_MEMCPY_DEVICE_TO_HOST,
    ACL_MEMCPY_DEVICE_TO_DEVICE,
};

namespace AscendC {
namespace host {
// The one stream of the stand-in device; launches on it complete before they return.
inline int& StreamTag()
{
    static thread_local int tag = 0;
    return tag;
}
}  // namespace host
}  // namespace AscendC

inline aclError aclrtCreateStream(aclrtStream* stream)
{
    if (stream == nullptr) {
        return ACL_ERROR_INVALID_PARAM;
    }
    *stream = &AscendC::host::StreamTag();
    return ACL_SUCCESS;
}

inline aclError aclrtSynchronizeStream(aclrtStream stream)
{
    return stream == nullptr ? ACL_ERROR_INVALID_PARAM : ACL_SUCCESS;
}

inline aclError aclrtDestroyStream(aclrtStream stream)
{
    return stream == nullptr ? ACL_ERROR_INVALID_PARAM : ACL_SUCCESS;
}

// Device memory: 32-byte aligned host memory, registered as a GM tensor.
inline aclError aclrtMalloc(void** devPtr, size_t size, aclrtMemMallocPolicy /* policy */)
{
    if (devPtr == nullptr || size == 0) {
        return ACL_ERROR_INVALID_PARAM;
    }
    const size_t rounded = (size + 31) / 32 * 32;
    void* memory = std::aligned_alloc(32, rounded);
    if (memory == nullptr) {
        return ACL_ERROR_BAD_ALLOC;
    }
    AscendC::host::RegisterGm(static_cast<const uint8_t*>(memory), static_cast<int64_t>(size));
    *devPtr = memory;
    return ACL_SUCCESS;
}

inline aclError aclrtFree(void* devPtr)
{
    if (devPtr == nullptr) {
        return ACL_ERROR_INVALID_PARAM;
    }
    AscendC::host::UnregisterGm(static_cast<const uint8_t*>(devPtr));
    std::free(devPtr);
    return ACL_SUCCESS;
}

inline aclError aclrtMemcpy(void* dst, size_t destMax, const void* src, size_t count,
    aclrtMemcpyKind /* kind */)
{
    if (dst == nullptr || src == nullptr || count > destMax) {
        return ACL_ERROR_INVALID_PARAM;
    }
    std::memcpy(dst, src, count);
    return ACL_SUCCESS;
}

#endif  // PAKV_ASCENDC_HOST_ACL_H
