// The C entry through which Python (ctypes) runs a printed AscendC unit on the host.
//
// runtime/ascendc/host_build.py compiles one shared library per set of printed units:
// each unit goes into its own namespace and gets one `extern "C"` entry, made by
// PAKV_HOST_ENTRY from the unit's own host code: ComputeGatherTiling computes the tiling
// from the runtime sizes and the unit's launcher (Launch<Kernel>) copies it to device
// memory and launches the kernel on every core, as a host program would on the device.
// Tensors are the caller's buffers, passed by pointer and registered as GM; outputs are
// written in place. A broken hardware rule comes back as status 3 and a message, never
// as an abort of the calling process.
#ifndef PAKV_ASCENDC_HOST_ENTRY_H
#define PAKV_ASCENDC_HOST_ENTRY_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "acl/acl.h"
#include "kernel_operator.h"

namespace pakv_host {

enum Status : int {
    kOk = 0,
    kInterface = 2,     // the caller passed the wrong number of sizes or tensors
    kRuleBroken = 3,    // the kernel broke a hardware rule
    kRuntimeError = 4,  // an aclrt* call failed, or the host runtime threw
};

inline int Fail(int status, const std::string& message, char* error, size_t errorBytes)
{
    if (error != nullptr && errorBytes > 0) {
        const size_t length = std::min(message.size(), errorBytes - 1);
        std::memcpy(error, message.data(), length);
        error[length] = '\0';
    }
    return status;
}

// Device memory for the tiling, freed on every path out.
struct DeviceBuffer {
    void* address = nullptr;
    ~DeviceBuffer()
    {
        if (address != nullptr) {
            aclrtFree(address);
        }
    }
};

template <typename Tiling, typename... Sizes, typename... Addresses, size_t... S, size_t... A>
int Run(Tiling (*computeTiling)(Sizes...),
    aclError (*launch)(const Tiling&, uint8_t*, aclrtStream, Addresses...), const uint64_t* shape,
    uint8_t* const* gm, const uint64_t* gmBytes, uint64_t* tilingOut, char* error,
    size_t errorBytes, std::index_sequence<S...>, std::index_sequence<A...>)
{
    AscendC::host::ClearGm();
    for (size_t i = 0; i < sizeof...(Addresses); ++i) {
        AscendC::host::RegisterGm(gm[i], static_cast<int64_t>(gmBytes[i]));
    }
    const Tiling tiling = computeTiling(static_cast<Sizes>(shape[S])...);
    DeviceBuffer tilingDevice;
    aclrtStream stream = nullptr;
    if (aclrtMalloc(&tilingDevice.address, sizeof(Tiling), ACL_MEM_MALLOC_HUGE_FIRST) != ACL_SUCCESS ||
        aclrtCreateStream(&stream) != ACL_SUCCESS) {
        return Fail(kRuntimeError, "aclrtMalloc / aclrtCreateStream failed", error, errorBytes);
    }
    const aclError launched =
        launch(tiling, static_cast<uint8_t*>(tilingDevice.address), stream, gm[A]...);
    aclrtSynchronizeStream(stream);
    aclrtDestroyStream(stream);
    if (launched != ACL_SUCCESS) {
        return Fail(kRuntimeError, "the launcher failed with aclError " + std::to_string(launched),
            error, errorBytes);
    }
    std::memcpy(tilingOut, &tiling, sizeof(Tiling));
    return kOk;
}

// Checks the caller's counts against the unit's own signatures, then runs it.
template <typename Tiling, typename... Sizes, typename... Addresses>
int Entry(Tiling (*computeTiling)(Sizes...),
    aclError (*launch)(const Tiling&, uint8_t*, aclrtStream, Addresses...), const uint64_t* shape,
    size_t shapeCount, uint8_t* const* gm, const uint64_t* gmBytes, size_t gmCount,
    uint64_t* tilingOut, size_t tilingWords, char* error, size_t errorBytes)
{
    if (shapeCount != sizeof...(Sizes) || gmCount != sizeof...(Addresses) ||
        tilingWords * sizeof(uint64_t) != sizeof(Tiling)) {
        return Fail(kInterface,
            "the unit takes " + std::to_string(sizeof...(Sizes)) + " sizes, " +
                std::to_string(sizeof...(Addresses)) + " tensors and " +
                std::to_string(sizeof(Tiling) / sizeof(uint64_t)) + " tiling words; given " +
                std::to_string(shapeCount) + ", " + std::to_string(gmCount) + " and " +
                std::to_string(tilingWords),
            error, errorBytes);
    }
    try {
        return Run(computeTiling, launch, shape, gm, gmBytes, tilingOut, error, errorBytes,
            std::index_sequence_for<Sizes...>{}, std::index_sequence_for<Addresses...>{});
    } catch (const AscendC::host::RuleBroken& broken) {
        return Fail(kRuleBroken, broken.what(), error, errorBytes);
    } catch (const std::exception& failure) {  // nothing may unwind into the caller
        return Fail(kRuntimeError, failure.what(), error, errorBytes);
    }
}

}  // namespace pakv_host

// One C entry per unit: `name` runs the unit whose host code is `computeTiling`/`launch`.
#define PAKV_HOST_ENTRY(name, computeTiling, launch)                                            \
    extern "C" int name(const uint64_t* shape, size_t shapeCount, uint8_t* const* gm,           \
        const uint64_t* gmBytes, size_t gmCount, uint64_t* tilingOut, size_t tilingWords,       \
        char* error, size_t errorBytes)                                                         \
    {                                                                                           \
        return ::pakv_host::Entry(computeTiling, launch, shape, shapeCount, gm, gmBytes, gmCount, \
            tilingOut, tilingWords, error, errorBytes);                                         \
    }

#endif  // PAKV_ASCENDC_HOST_ENTRY_H
