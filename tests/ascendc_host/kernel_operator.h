// A host stand-in for the subset of AscendC that pakv's ascendc target prints.
//
// Written by the pakv project from the public AscendC API documentation (asc-devkit
// docs: DataCopy, DataCopyPad, DataCopyParams, DataCopyExtParams, SetFlag/WaitFlag,
// AllocEventID, TPipe, TBuf::GetWithOffset, GlobalTensor, LocalTensor, Duplicate,
// GetBlockIdx); nothing is taken from vendor headers. It runs a kernel on the CPU, one
// core after another, with each call's documented semantics, and stops with a message
// on the first broken hardware rule:
//   * the Unified Buffer of the configured SoC: capacity, 32-byte aligned addresses;
//   * blockCount in [1, 4095]; DataCopyPad blockLen in [1, 2097151] bytes;
//   * DataCopy by element count silently rounds the length down to 32 bytes, as the
//     hardware does, so a DataCopy chosen for an unaligned length gives wrong bytes;
//   * the pad bytes DataCopyPad adds in UB hold none of the burst's data (here: 0xA5),
//     so a kernel that stores padding gives wrong bytes too;
//   * every GM access lies inside the tensor its GlobalTensor was bound to;
//   * no two cores write the same GM bytes (each output row has one owner);
//   * event flags: at most 8 ids per HardEvent kind, only allocated ids, a WaitFlag
//     needs an earlier SetFlag (else the core would hang), flags never stack (the
//     lowered program's contract), every flag waited and every id released by the end.
// Pipes are not modelled as concurrent: hazards between pipes are checked by the
// interpreter of the lowered program, whose flags this kernel carries one for one.
#ifndef PAKV_ASCENDC_HOST_KERNEL_OPERATOR_H
#define PAKV_ASCENDC_HOST_KERNEL_OPERATOR_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#define __global__
#define __aicore__
#define __gm__
#define GM_ADDR __gm__ uint8_t*

// Storage-only element types: the gather moves their bits and never computes on them.
struct half {
    uint16_t bits;
};
struct bfloat16_t {
    uint16_t bits;
};
struct fp8_e5m2_t {
    uint8_t bits;
};
struct fp8_e4m3fn_t {
    uint8_t bits;
};
struct hifloat8_t {
    uint8_t bits;
};

namespace AscendC {

// ------------------------------------------------------------------ the simulated core
namespace host {

constexpr int64_t kBlock = 32;
constexpr int64_t kMaxBlockCount = 4095;
constexpr int64_t kMaxPadBlockLen = 2097151;
constexpr int kEventIds = 8;
constexpr uint8_t kGarbage = 0xA5;

struct Core {
    int64_t ubCapacity = 0;
    std::vector<uint8_t> ub;
    int64_t blockIdx = 0;
    int64_t blockNum = 0;
    std::map<std::pair<int, int>, int> flags;      // (HardEvent, id) -> pending sets
    std::map<std::pair<int, int>, bool> allocated;  // (HardEvent, id) -> taken
    std::vector<std::pair<const uint8_t*, const uint8_t*>> gm;  // registered tensors
    struct Write {
        const uint8_t* begin;
        const uint8_t* end;
        int64_t core;
    };
    std::vector<Write> writes;  // every GM range written, by which core
};

inline Core& State()
{
    static Core core;
    return core;
}

[[noreturn]] inline void Error(const std::string& message)
{
    std::fprintf(stderr, "ascendc-host: core %lld: %s\n", static_cast<long long>(State().blockIdx),
        message.c_str());
    std::exit(3);
}

inline void Check(bool ok, const std::string& message)
{
    if (!ok) {
        Error(message);
    }
}

inline void RegisterGm(const uint8_t* begin, int64_t bytes)
{
    State().gm.emplace_back(begin, begin + bytes);
}

// The registered tensor that holds `address`: a GlobalTensor is bound to it for life.
inline std::pair<const uint8_t*, const uint8_t*> TensorAt(const void* address, const char* what)
{
    const auto* at = static_cast<const uint8_t*>(address);
    for (const auto& tensor : State().gm) {
        if (at == tensor.first || (at > tensor.first && at < tensor.second)) {
            return tensor;
        }
    }
    Error(std::string(what) + ": address is in no GM tensor");
}

// Every GM access stays inside the tensor its GlobalTensor was bound to.
inline void CheckGm(const std::pair<const uint8_t*, const uint8_t*>& tensor, const void* address,
    int64_t bytes, const char* what)
{
    const auto* begin = static_cast<const uint8_t*>(address);
    if (begin < tensor.first || begin + bytes > tensor.second) {
        Error(std::string(what) + ": GM access of " + std::to_string(bytes) + " bytes at offset " +
              std::to_string(begin - tensor.first) + " outside its " +
              std::to_string(tensor.second - tensor.first) + "-byte tensor");
    }
}

inline void RecordWrite(const uint8_t* begin, int64_t bytes)
{
    State().writes.push_back({begin, begin + bytes, State().blockIdx});
}

// After every core ran: no byte of GM was written by two cores.
inline void CheckDisjointWrites()
{
    std::vector<Core::Write> writes = State().writes;
    std::sort(writes.begin(), writes.end(),
        [](const Core::Write& a, const Core::Write& b) { return a.begin < b.begin; });
    const Core::Write* reach = nullptr;  // the write reaching furthest so far
    for (const Core::Write& write : writes) {
        if (reach != nullptr && write.begin < reach->end && write.core != reach->core) {
            State().blockIdx = write.core;
            Error("GM bytes written by core " + std::to_string(reach->core) + " are written again");
        }
        if (reach == nullptr || write.end > reach->end) {
            reach = &write;
        }
    }
}

inline uint8_t* Ub(int64_t address, int64_t bytes, const char* what)
{
    Core& core = State();
    Check(address >= 0 && bytes >= 0 && address + bytes <= core.ubCapacity,
        std::string(what) + ": UB bytes [" + std::to_string(address) + ", " +
            std::to_string(address + bytes) + ") outside the " + std::to_string(core.ubCapacity) +
            "-byte UB");
    return core.ub.data() + address;
}

inline void CheckAligned(int64_t address, const char* what)
{
    Check(address % kBlock == 0,
        std::string(what) + ": UB address " + std::to_string(address) + " is not 32-byte aligned");
}

inline void StartCore(int64_t blockIdx, int64_t blockNum)
{
    Core& core = State();
    core.blockIdx = blockIdx;
    core.blockNum = blockNum;
    core.ub.assign(static_cast<size_t>(core.ubCapacity), kGarbage);
    core.flags.clear();
    core.allocated.clear();
}

inline void FinishCore()
{
    for (const auto& flag : State().flags) {
        Check(flag.second == 0, "flag (HardEvent " + std::to_string(flag.first.first) + ", id " +
                                    std::to_string(flag.first.second) + ") still set at kernel end");
    }
    for (const auto& id : State().allocated) {
        Check(!id.second, "event id " + std::to_string(id.first.second) + " of HardEvent " +
                              std::to_string(id.first.first) + " never released");
    }
}

// Runs `kernel` on every core in turn (the role of ICPU_RUN_KF in CPU debug builds).
template <typename Kernel>
void RunOnEveryCore(int64_t blockDim, Kernel&& kernel)
{
    State().writes.clear();
    for (int64_t idx = 0; idx < blockDim; ++idx) {
        StartCore(idx, blockDim);
        kernel();
        FinishCore();
    }
    CheckDisjointWrites();
}

}  // namespace host

#define ICPU_RUN_KF(func, blockDim, ...) \
    AscendC::host::RunOnEveryCore((blockDim), [&]() { func(__VA_ARGS__); })

inline int64_t GetBlockIdx()
{
    return host::State().blockIdx;
}

inline int64_t GetBlockNum()
{
    return host::State().blockNum;
}

// ------------------------------------------------------------------ tensors
enum class TPosition : uint8_t { GM, VECIN, VECOUT, VECCALC };

template <typename T>
class LocalTensor {
public:
    LocalTensor() = default;
    LocalTensor(int64_t address, int64_t size) : address_(address), size_(size) {}

    // Element `offset` onwards, as a tensor (the view starts there).
    LocalTensor operator[](int64_t offset) const
    {
        host::Check(offset >= 0 && offset <= size_, "LocalTensor offset " + std::to_string(offset) +
                                                        " past its " + std::to_string(size_) +
                                                        " elements");
        return LocalTensor(address_ + offset * static_cast<int64_t>(sizeof(T)), size_ - offset);
    }

    template <typename U>
    LocalTensor<U> ReinterpretCast() const
    {
        const int64_t bytes = size_ * static_cast<int64_t>(sizeof(T));
        return LocalTensor<U>(address_, bytes / static_cast<int64_t>(sizeof(U)));
    }

    int64_t GetSize() const { return size_; }
    int64_t Address() const { return address_; }

private:
    int64_t address_ = 0;  // UB byte address
    int64_t size_ = 0;     // elements
};

template <typename T>
class GlobalTensor {
public:
    void SetGlobalBuffer(__gm__ T* buffer)
    {
        base_ = buffer;
        tensor_ = host::TensorAt(buffer, "GlobalTensor::SetGlobalBuffer");
    }

    GlobalTensor operator[](uint64_t offset) const
    {
        GlobalTensor view = *this;
        view.base_ = base_ + offset;
        return view;
    }

    T GetValue(uint64_t offset) const
    {
        Check(base_ + offset, static_cast<int64_t>(sizeof(T)), "GlobalTensor::GetValue");
        T value;
        std::memcpy(&value, base_ + offset, sizeof(T));
        return value;
    }

    __gm__ T* GetPhyAddr() const { return base_; }

    // Stand-in only: stops the kernel when [address, address + bytes) leaves the tensor.
    void Check(const void* address, int64_t bytes, const char* what) const
    {
        host::CheckGm(tensor_, address, bytes, what);
    }

private:
    __gm__ T* base_ = nullptr;
    std::pair<const uint8_t*, const uint8_t*> tensor_{nullptr, nullptr};
};

template <TPosition Position>
class TBuf {
public:
    template <typename T>
    LocalTensor<T> GetWithOffset(uint32_t size, uint32_t bufOffset) const
    {
        host::CheckAligned(static_cast<int64_t>(bufOffset), "TBuf::GetWithOffset");
        host::Check(static_cast<int64_t>(size * sizeof(T) + bufOffset) <= bytes_,
            "TBuf::GetWithOffset: " + std::to_string(size * sizeof(T)) + " bytes at offset " +
                std::to_string(bufOffset) + " past the " + std::to_string(bytes_) + "-byte buffer");
        return LocalTensor<T>(address_ + bufOffset, size);
    }

    template <typename T>
    LocalTensor<T> Get() const
    {
        return LocalTensor<T>(address_, bytes_ / static_cast<int64_t>(sizeof(T)));
    }

    int64_t address_ = -1;
    int64_t bytes_ = 0;
};

// ------------------------------------------------------------------ synchronisation
enum class HardEvent : uint8_t {
    MTE2_MTE1, MTE1_MTE2, MTE1_M, M_MTE1, MTE2_V, V_MTE2, MTE3_V, V_MTE3, M_V, V_M, V_V,
    MTE3_MTE1, MTE1_MTE3, MTE1_V, MTE2_M, M_MTE2, V_MTE1, M_FIX, FIX_M, MTE3_MTE2, MTE2_MTE3,
    S_V, V_S, S_MTE2, MTE2_S, S_MTE3, MTE3_S, MTE2_FIX, FIX_MTE2, FIX_S, M_S, FIX_MTE3,
};

using TEventID = int8_t;

class TPipe {
public:
    template <TPosition Position>
    void InitBuffer(TBuf<Position>& buf, uint32_t len)
    {
        const int64_t bytes = static_cast<int64_t>(len);
        host::Check(bytes % host::kBlock == 0,
            "TPipe::InitBuffer: " + std::to_string(bytes) + " bytes is not a multiple of 32");
        host::Ub(next_, bytes, "TPipe::InitBuffer");
        buf.address_ = next_;
        buf.bytes_ = bytes;
        next_ += bytes;
    }

    template <HardEvent Event>
    TEventID AllocEventID()
    {
        for (int id = 0; id < host::kEventIds; ++id) {
            bool& taken = host::State().allocated[{static_cast<int>(Event), id}];
            if (!taken) {
                taken = true;
                return static_cast<TEventID>(id);
            }
        }
        host::Error("AllocEventID: all 8 ids of HardEvent " +
                    std::to_string(static_cast<int>(Event)) + " are taken");
    }

    template <HardEvent Event>
    void ReleaseEventID(TEventID id)
    {
        const std::pair<int, int> key{static_cast<int>(Event), id};
        bool& taken = host::State().allocated[key];
        host::Check(taken, "ReleaseEventID of an id that is not allocated");
        host::Check(host::State().flags[key] == 0, "ReleaseEventID of a flag still set");
        taken = false;
    }

private:
    int64_t next_ = 0;
};

namespace host {
template <HardEvent Event>
std::pair<int, int> FlagKey(int32_t eventID)
{
    const std::pair<int, int> key{static_cast<int>(Event), eventID};
    Check(eventID >= 0 && eventID < kEventIds && State().allocated[key],
        "event id " + std::to_string(eventID) + " of HardEvent " +
            std::to_string(static_cast<int>(Event)) + " was not allocated");
    return key;
}
}  // namespace host

template <HardEvent Event>
void SetFlag(int32_t eventID)
{
    int& pending = host::State().flags[host::FlagKey<Event>(eventID)];
    host::Check(pending == 0, "SetFlag on HardEvent " + std::to_string(static_cast<int>(Event)) +
                                  " id " + std::to_string(eventID) + " that is still set");
    pending = 1;
}

template <HardEvent Event>
void WaitFlag(int32_t eventID)
{
    int& pending = host::State().flags[host::FlagKey<Event>(eventID)];
    host::Check(pending == 1, "WaitFlag on HardEvent " + std::to_string(static_cast<int>(Event)) +
                                  " id " + std::to_string(eventID) +
                                  " with no SetFlag before it: the core would hang");
    pending = 0;
}

// ------------------------------------------------------------------ data movement
struct DataCopyParams {
    uint16_t blockCount = 0;
    uint16_t blockLen = 0;   // 32-byte blocks
    uint16_t srcStride = 0;  // 32-byte blocks
    uint16_t dstStride = 0;  // 32-byte blocks
};

struct DataCopyExtParams {
    uint16_t blockCount = 0;
    uint32_t blockLen = 0;   // bytes
    uint32_t srcStride = 0;  // bytes on GM, 32-byte blocks on UB
    uint32_t dstStride = 0;  // bytes on GM, 32-byte blocks on UB
    uint32_t rsv = 0;
};

template <typename T>
struct DataCopyPadExtParams {
    bool isPad = false;
    uint8_t leftPadding = 0;
    uint8_t rightPadding = 0;
    T paddingValue{};
};

namespace host {
inline void CheckBlockCount(int64_t count, const char* what)
{
    Check(count >= 1 && count <= kMaxBlockCount,
        std::string(what) + ": blockCount " + std::to_string(count) + " outside [1, 4095]");
}

inline int64_t AlignUp(int64_t bytes)
{
    return (bytes + kBlock - 1) / kBlock * kBlock;
}

// `count` bursts of `len` bytes: burst b starts b * srcPitch bytes into the source and
// b * dstPitch bytes into the destination. Every strided copy below is one of these.
struct BurstLayout {
    int64_t count;
    int64_t len;
    int64_t srcPitch;
    int64_t dstPitch;

    int64_t SrcSpan() const { return (count - 1) * srcPitch + len; }
    int64_t DstSpan() const { return (count - 1) * dstPitch + len; }
};

// DataCopyParams' bursts: length and both strides in 32-byte blocks.
inline BurstLayout BlockBursts(const DataCopyParams& params, const char* what)
{
    CheckBlockCount(params.blockCount, what);
    const int64_t len = params.blockLen * kBlock;
    return {params.blockCount, len, len + params.srcStride * kBlock, len + params.dstStride * kBlock};
}

inline void Bursts(uint8_t* dst, const uint8_t* src, const BurstLayout& bursts)
{
    for (int64_t b = 0; b < bursts.count; ++b) {
        std::memmove(dst + b * bursts.dstPitch, src + b * bursts.srcPitch,
            static_cast<size_t>(bursts.len));
    }
}

// The GM bytes a copy to GM wrote (each core's writes are checked for overlaps).
inline void RecordBursts(const uint8_t* gm, const BurstLayout& bursts)
{
    for (int64_t b = 0; b < bursts.count; ++b) {
        RecordWrite(gm + b * bursts.dstPitch, bursts.len);
    }
}
}  // namespace host

// GM -> UB, `count` elements; the hardware moves whole 32-byte blocks, so a length that is
// not a multiple of 32 bytes is silently rounded down.
template <typename T>
void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, uint32_t count)
{
    const int64_t bytes = static_cast<int64_t>(count) * static_cast<int64_t>(sizeof(T));
    const int64_t moved = bytes / host::kBlock * host::kBlock;
    host::CheckAligned(dst.Address(), "DataCopy GM->UB");
    uint8_t* ub = host::Ub(dst.Address(), moved, "DataCopy GM->UB");
    src.Check(src.GetPhyAddr(), moved, "DataCopy GM->UB");
    std::memcpy(ub, src.GetPhyAddr(), static_cast<size_t>(moved));
}

// UB -> GM, `count` elements, rounded down to whole 32-byte blocks like GM -> UB.
template <typename T>
void DataCopy(const GlobalTensor<T>& dst, const LocalTensor<T>& src, uint32_t count)
{
    const int64_t bytes = static_cast<int64_t>(count) * static_cast<int64_t>(sizeof(T));
    const int64_t moved = bytes / host::kBlock * host::kBlock;
    host::CheckAligned(src.Address(), "DataCopy UB->GM");
    const uint8_t* ub = host::Ub(src.Address(), moved, "DataCopy UB->GM");
    dst.Check(dst.GetPhyAddr(), moved, "DataCopy UB->GM");
    std::memcpy(dst.GetPhyAddr(), ub, static_cast<size_t>(moved));
    host::RecordWrite(reinterpret_cast<const uint8_t*>(dst.GetPhyAddr()), moved);
}

// GM -> UB in blockCount bursts; length and both strides in 32-byte blocks.
template <typename T>
void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const DataCopyParams& params)
{
    const host::BurstLayout bursts = host::BlockBursts(params, "DataCopy GM->UB");
    host::CheckAligned(dst.Address(), "DataCopy GM->UB");
    auto* gm = reinterpret_cast<const uint8_t*>(src.GetPhyAddr());
    src.Check(gm, bursts.SrcSpan(), "DataCopy GM->UB");
    host::Bursts(host::Ub(dst.Address(), bursts.DstSpan(), "DataCopy GM->UB"), gm, bursts);
}

// UB -> GM in blockCount bursts; length and both strides in 32-byte blocks.
template <typename T>
void DataCopy(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& params)
{
    const host::BurstLayout bursts = host::BlockBursts(params, "DataCopy UB->GM");
    host::CheckAligned(src.Address(), "DataCopy UB->GM");
    auto* gm = reinterpret_cast<uint8_t*>(dst.GetPhyAddr());
    dst.Check(gm, bursts.DstSpan(), "DataCopy UB->GM");
    host::Bursts(gm, host::Ub(src.Address(), bursts.SrcSpan(), "DataCopy UB->GM"), bursts);
    host::RecordBursts(gm, bursts);
}

// UB -> UB (vector pipe) in blockCount bursts; length and strides in 32-byte blocks.
template <typename T>
void DataCopy(const LocalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& params)
{
    const host::BurstLayout bursts = host::BlockBursts(params, "DataCopy UB->UB");
    host::CheckAligned(src.Address(), "DataCopy UB->UB");
    host::CheckAligned(dst.Address(), "DataCopy UB->UB");
    const uint8_t* from = host::Ub(src.Address(), bursts.SrcSpan(), "DataCopy UB->UB");
    std::vector<uint8_t> staged(from, from + bursts.SrcSpan());
    host::Bursts(host::Ub(dst.Address(), bursts.DstSpan(), "DataCopy UB->UB"), staged.data(),
        bursts);
}

// GM -> UB, any byte length: burst b is blockLen bytes from src + b * (blockLen + srcStride)
// to dst + b * (blockLen rounded up to 32 + dstStride * 32). The pad bytes of each UB block
// hold no data (here: garbage).
template <typename T>
void DataCopyPad(const LocalTensor<T>& dst, const GlobalTensor<T>& src,
    const DataCopyExtParams& params, const DataCopyPadExtParams<T>& padParams)
{
    host::CheckBlockCount(params.blockCount, "DataCopyPad GM->UB");
    host::CheckAligned(dst.Address(), "DataCopyPad GM->UB");
    host::Check(!padParams.isPad, "DataCopyPad GM->UB: padding values are not modelled");
    const int64_t len = params.blockLen;
    host::Check(len >= 1 && len <= host::kMaxPadBlockLen && len % static_cast<int64_t>(sizeof(T)) == 0,
        "DataCopyPad GM->UB: blockLen " + std::to_string(len) + " bytes is out of range or not a "
        "whole number of elements");
    const int64_t padded = host::AlignUp(len);
    const host::BurstLayout bursts{params.blockCount, len, len + params.srcStride,
        padded + static_cast<int64_t>(params.dstStride) * host::kBlock};
    auto* gm = reinterpret_cast<const uint8_t*>(src.GetPhyAddr());
    src.Check(gm, bursts.SrcSpan(), "DataCopyPad GM->UB");
    uint8_t* ub = host::Ub(dst.Address(), bursts.DstSpan() - len + padded, "DataCopyPad GM->UB");
    for (int64_t b = 0; b < bursts.count; ++b) {
        std::memset(ub + b * bursts.dstPitch, host::kGarbage, static_cast<size_t>(padded));
    }
    host::Bursts(ub, gm, bursts);
}

// UB -> GM, any byte length: burst b is blockLen bytes from src + b * (blockLen rounded up
// to 32 + srcStride * 32) to dst + b * (blockLen + dstStride); pad bytes are not written.
template <typename T>
void DataCopyPad(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyExtParams& params)
{
    host::CheckBlockCount(params.blockCount, "DataCopyPad UB->GM");
    host::CheckAligned(src.Address(), "DataCopyPad UB->GM");
    const int64_t len = params.blockLen;
    host::Check(len >= 1 && len <= host::kMaxPadBlockLen,
        "DataCopyPad UB->GM: blockLen " + std::to_string(len) + " bytes is out of range");
    const host::BurstLayout bursts{params.blockCount, len,
        host::AlignUp(len) + static_cast<int64_t>(params.srcStride) * host::kBlock,
        len + params.dstStride};
    auto* gm = reinterpret_cast<uint8_t*>(dst.GetPhyAddr());
    dst.Check(gm, bursts.DstSpan(), "DataCopyPad UB->GM");
    host::Bursts(gm, host::Ub(src.Address(), bursts.SrcSpan(), "DataCopyPad UB->GM"), bursts);
    host::RecordBursts(gm, bursts);
}

// ------------------------------------------------------------------ vector fill
template <typename T>
void Duplicate(const LocalTensor<T>& dst, const T& scalarValue, const int32_t& count)
{
    host::CheckAligned(dst.Address(), "Duplicate");
    host::Check(count >= 0 && count <= dst.GetSize(), "Duplicate: count " +
        std::to_string(count) + " past the tensor's " + std::to_string(dst.GetSize()) + " elements");
    uint8_t* ub = host::Ub(dst.Address(), count * static_cast<int64_t>(sizeof(T)), "Duplicate");
    for (int32_t i = 0; i < count; ++i) {
        std::memcpy(ub + i * sizeof(T), &scalarValue, sizeof(T));
    }
}

}  // namespace AscendC

#endif  // PAKV_ASCENDC_HOST_KERNEL_OPERATOR_H
