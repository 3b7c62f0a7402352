// A host stand-in for the subset of AscendC that pakv's ascendc target prints.
//
// Written by the pakv project from the public AscendC API documentation and headers
// (mirror-cann/asc-devkit: DataCopy, DataCopyPad, DataCopyParams, DataCopyExtParams,
// MultiCopyLoopInfo/MultiCopyParams (Ascend 950's NDDMA), PipeBarrier, SetFlag/WaitFlag,
// AllocEventID, TPipe::InitBuffer, TBuf::GetWithOffset, GlobalTensor, LocalTensor,
// Duplicate, GetBlockIdx, KERNEL_TASK_TYPE_DEFAULT, Cast, Adds, Muls, Add, Sub, Mul and
// their precision-conversion rules); nothing is copied from
// vendor headers. It runs a kernel on the CPU, one core after another, with each call's
// documented semantics, and throws host::RuleBroken (caught at the C boundary of
// host_entry.h) on the first broken hardware rule:
//   * the Unified Buffer of the configured SoC: capacity, 32-byte aligned addresses;
//   * every DMA parameter has the width and unit of its AscendC field and is refused,
//     never truncated, when it does not fit (DataCopyParams: uint16 counted in 32-byte
//     blocks; DataCopyExtParams: uint16 blockCount, uint32 blockLen in bytes, uint32
//     strides in bytes on GM and in 32-byte blocks on UB); blockCount <= 4095;
//     DataCopyPad blockLen <= 2097151 bytes (the intrinsic's 21-bit lenBurst);
//   * integer parameters narrower than the value passed (DataCopy's uint32_t count,
//     LocalTensor::operator[]'s uint32_t offset) refuse values they would truncate;
//   * DataCopy by element count silently rounds the length down to 32 bytes, as the
//     hardware does, so a DataCopy chosen for an unaligned length gives wrong bytes;
//   * the pad bytes DataCopyPad adds in UB hold none of the burst's data (here: 0xA5),
//     so a kernel that stores padding gives wrong bytes too;
//   * every GM access lies inside the tensor its GlobalTensor was bound to;
//   * no two cores write the same GM bytes (each output row has one owner);
//   * event flags: the SoC's id budget per HardEvent, only allocated ids, a WaitFlag
//     needs an earlier SetFlag (else the core would hang), flags never stack (the
//     lowered program's contract), every flag waited and every id released by the end;
//   * the SoC's capabilities: its kernel type (KERNEL_TASK_TYPE_DEFAULT), and APIs it
//     lacks fail to compile, naming the API and the SoC; a Cast the SoC's table lacks
//     (source, target, round mode) is refused when it runs;
//   * vector operands: aligned, in the UB, inside their tensors; a Cast's source and
//     target do not overlap, an arithmetic op's overlap only exactly (in place).
// It is no stricter than the real API: zero-length copies are no-ops and
// TPipe::InitBuffer rounds its length up to 32 bytes.
//
// GM addresses are volatile-qualified here (`__gm__`): a GM pointer never converts to a
// host pointer without a diagnostic (reinterpret_cast cannot drop the qualifier), and a
// kernel launch takes host-side device addresses (uint8_t*), as the asc-devkit launch
// examples pass them, never __gm__ pointers.
//
// Pipes are not modelled as concurrent: hazards between pipes are checked by the
// interpreter of the lowered program, whose flags this kernel carries one for one.
//
// The SoC is configured by macros (runtime/ascendc/host_build.py derives them from
// pakv_dialect/soc.py, the one table of SoC facts):
//   ASCENDC_HOST_SOC           its name, for messages ("Ascend910B")
//   ASCENDC_HOST_UB_BYTES      UB bytes a kernel may use (AscendC's TOTAL_UB_SIZE)
//   ASCENDC_HOST_EVENT_IDS     event ids per HardEvent
//   ASCENDC_HOST_KERNEL_TYPE   the KERNEL_TASK_TYPE_DEFAULT value the SoC runs a vector
//                              kernel with; undefined where the SoC has no kernel type
//   ASCENDC_HOST_NO_<API>      an API the SoC lacks: KERNEL_TYPE, SET_WAIT_FLAG,
//                              ALLOC_EVENT_ID, DATA_COPY_PAD, UB_TO_UB_DATA_COPY, ND_DMA
//   ASCENDC_HOST_CASTS         its Cast table: "int8>fp16:N;int32>fp32:NR;..." (source >
//                              target : the round modes, by the letter after CAST_)
#ifndef PAKV_ASCENDC_HOST_KERNEL_OPERATOR_H
#define PAKV_ASCENDC_HOST_KERNEL_OPERATOR_H

#if !defined(ASCENDC_HOST_SOC) || !defined(ASCENDC_HOST_UB_BYTES) || !defined(ASCENDC_HOST_EVENT_IDS) || \
    !defined(ASCENDC_HOST_CASTS)
#error "configure the SoC: ASCENDC_HOST_SOC, ASCENDC_HOST_UB_BYTES, ASCENDC_HOST_EVENT_IDS, ASCENDC_HOST_CASTS"
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __aicore__
// The stand-in's API functions are compiled once per library, not inlined into every
// printed unit's helpers: a unit then costs a fraction of a second to compile.
#define ASCENDC_HOST_API __attribute__((noinline))
#define __gm__ volatile
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

// KERNEL_TASK_TYPE_DEFAULT's values, in the documented order.
enum KernelMetaType {
    KERNEL_TYPE_AIV_ONLY, KERNEL_TYPE_AIC_ONLY, KERNEL_TYPE_MIX_AIV_1_0, KERNEL_TYPE_MIX_AIC_1_0,
    KERNEL_TYPE_MIX_AIC_1_1, KERNEL_TYPE_MIX_AIC_1_2, KERNEL_TYPE_AICORE, KERNEL_TYPE_VECTORCORE,
    KERNEL_TYPE_MIX_AICORE, KERNEL_TYPE_MIX_VECTOR_CORE, KERNEL_TYPE_MAX
};

// The pipes a PipeBarrier names (the CCE compiler's pipe_t, used unqualified).
enum pipe_t : uint8_t { PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3, PIPE_ALL };

namespace AscendC {

// ------------------------------------------------------------------ the simulated core
namespace host {

constexpr int64_t kBlock = 32;
constexpr int64_t kMaxBlockCount = 4095;
constexpr int64_t kMaxPadBlockLen = 2097151;
constexpr int kEventIds = ASCENDC_HOST_EVENT_IDS;
constexpr int64_t kUbBytes = ASCENDC_HOST_UB_BYTES;
constexpr uint8_t kGarbage = 0xA5;
constexpr int64_t kUbPage = 4096;
constexpr int kHardEventKinds = 32;  // the HardEvent values (checked below)

// A hardware rule the kernel broke; host_entry.h turns it into a status and a message.
struct RuleBroken : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A false that depends on a template parameter: static_assert fires only when used.
template <typename T>
struct Absent : std::false_type {};
template <auto V>
struct AbsentValue : std::false_type {};

// (HardEvent, id) -> pending sets, and -> taken: flat tables, since a launch sets and
// waits on flags for every tile (a tree map's lookups cost more than the copy of a
// small tile).
struct EventTables {
    int flags[kHardEventKinds][kEventIds] = {};
    bool allocated[kHardEventKinds][kEventIds] = {};
};

struct Core : EventTables {
    std::vector<uint8_t> ub;
    std::vector<uint8_t> ubTouched;  // per kUbPage bytes of UB: may the current core have changed it
    int64_t blockIdx = 0;
    int64_t blockNum = 0;
    int kernelType = -1;  // declared by KERNEL_TASK_TYPE_DEFAULT in this core's run
    std::vector<std::pair<const uint8_t*, const uint8_t*>> gm;  // registered tensors
    struct Write {
        const uint8_t* begin;
        const uint8_t* end;
        int64_t core;
    };
    std::vector<Write> writes;  // every GM range written, by which core
};

// One simulated device per host thread: concurrent launches do not share state.
inline Core& State()
{
    static thread_local Core core;
    return core;
}

[[noreturn]] inline void Error(const std::string& message)
{
    throw RuleBroken("core " + std::to_string(State().blockIdx) + ": " + message);
}

// Checks a rule; the message is built only when the rule is broken (the common path
// costs a comparison, so the host executor stays fast).
#define ASCENDC_HOST_CHECK(ok, message)           \
    do {                                          \
        if (!(ok)) {                              \
            ::AscendC::host::Error(message);      \
        }                                         \
    } while (0)

// `value` as the parameter type T of an API: refused, not truncated, when it does not fit.
template <typename T, typename U>
T Narrow(U value, const char* what)
{
    static_assert(std::is_integral<U>::value, "an integer is expected");
    bool fits = static_cast<uint64_t>(value) <= std::numeric_limits<T>::max();
    if constexpr (std::is_signed<U>::value) {
        fits = fits && value >= 0;
    }
    if (!fits) {
        Error(std::string(what) + " = " + std::to_string(value) + " does not fit its " +
              std::to_string(8 * sizeof(T)) + (std::is_signed<T>::value ? "-bit signed" : "-bit unsigned") +
              " type (the hardware would see " +
              std::to_string(static_cast<T>(value)) + ")");
    }
    return static_cast<T>(value);
}

// A field of a DMA parameter struct: assigning a value it cannot hold is refused.
template <typename T>
class Field {
public:
    constexpr Field(const char* name, T initial) : name_(name), value_(initial) {}
    Field(const Field&) = default;
    Field& operator=(const Field&) = default;

    template <typename U, typename = std::enable_if_t<std::is_integral<U>::value>>
    Field& operator=(U value)
    {
        value_ = Narrow<T>(value, name_);
        return *this;
    }

    operator T() const { return value_; }

private:
    const char* name_;
    T value_;
};

inline void RegisterGm(const uint8_t* begin, int64_t bytes)
{
    State().gm.emplace_back(begin, begin + bytes);
}

inline void UnregisterGm(const uint8_t* begin)
{
    auto& gm = State().gm;
    gm.erase(std::remove_if(gm.begin(), gm.end(), [&](const auto& t) { return t.first == begin; }),
        gm.end());
}

inline void ClearGm()
{
    State().gm.clear();
}

// The registered tensor that holds `address`: a GlobalTensor is bound to it for life. The
// tensor starting there comes first: strided views of one buffer (keys and values
// interleaved) span overlapping ranges, and each is bound by its own start.
inline std::pair<const uint8_t*, const uint8_t*> TensorAt(const void* address, const char* what)
{
    const auto* at = static_cast<const uint8_t*>(address);
    for (const auto& tensor : State().gm) {
        if (at == tensor.first) {
            return tensor;
        }
    }
    for (const auto& tensor : State().gm) {
        if (at > tensor.first && at < tensor.second) {
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

inline void CheckUb(int64_t address, int64_t bytes, const char* what)
{
    ASCENDC_HOST_CHECK(address >= 0 && bytes >= 0 && address + bytes <= kUbBytes,
        std::string(what) + ": UB bytes [" + std::to_string(address) + ", " +
            std::to_string(address + bytes) + ") outside the " + std::to_string(kUbBytes) +
            "-byte UB of " ASCENDC_HOST_SOC);
}

// UB bytes a call reads or writes (marked touched: the next core gets them refilled).
inline uint8_t* Ub(int64_t address, int64_t bytes, const char* what)
{
    Core& core = State();
    ASCENDC_HOST_CHECK(address >= 0 && bytes >= 0 && address + bytes <= kUbBytes,
        std::string(what) + ": UB bytes [" + std::to_string(address) + ", " +
            std::to_string(address + bytes) + ") outside the " + std::to_string(kUbBytes) +
            "-byte UB of " ASCENDC_HOST_SOC);
    if (bytes > 0) {
        const int64_t first = address / kUbPage;
        const int64_t last = (address + bytes - 1) / kUbPage;
        std::memset(core.ubTouched.data() + first, 1, static_cast<size_t>(last - first + 1));
    }
    return core.ub.data() + address;
}

inline void CheckAligned(int64_t address, const char* what)
{
    ASCENDC_HOST_CHECK(address % kBlock == 0,
        std::string(what) + ": UB address " + std::to_string(address) + " is not 32-byte aligned");
}

inline void StartCore(int64_t blockIdx, int64_t blockNum)
{
    Core& core = State();
    core.blockIdx = blockIdx;
    core.blockNum = blockNum;
    core.kernelType = -1;
    // Every core starts with a UB of garbage; refilling only the pages the last core
    // touched keeps a launch on many cores cheap.
    if (core.ub.size() != static_cast<size_t>(kUbBytes)) {
        core.ub.assign(static_cast<size_t>(kUbBytes), kGarbage);
        core.ubTouched.assign(static_cast<size_t>((kUbBytes + kUbPage - 1) / kUbPage), 0);
    }
    uint8_t* touched = core.ubTouched.data();
    uint8_t* ub = core.ub.data();
    const int64_t pages = static_cast<int64_t>(core.ubTouched.size());
    for (int64_t page = 0; page < pages; ++page) {
        if (touched[page] != 0) {
            const int64_t begin = page * kUbPage;
            std::memset(ub + begin, kGarbage, static_cast<size_t>(std::min(kUbPage, kUbBytes - begin)));
            touched[page] = 0;
        }
    }
    std::memset(core.flags, 0, sizeof(core.flags));
    std::memset(core.allocated, 0, sizeof(core.allocated));
}

// The kernel declared the kernel type its SoC needs (checked at every core's end).
inline void FinishKernelType()
{
#ifdef ASCENDC_HOST_KERNEL_TYPE
    // The documentation: Ascend 950 and the inference series do not infer a kernel type.
    ASCENDC_HOST_CHECK(State().kernelType == ASCENDC_HOST_KERNEL_TYPE,
        std::string("the kernel must declare KERNEL_TASK_TYPE_DEFAULT(") +
            std::to_string(ASCENDC_HOST_KERNEL_TYPE) + ") on " ASCENDC_HOST_SOC ", it declared " +
            (State().kernelType < 0 ? std::string("none") : std::to_string(State().kernelType)));
#endif
}

inline void FinishCore()
{
    const Core& core = State();
    static const EventTables kClear{};
    if (std::memcmp(core.flags, kClear.flags, sizeof(core.flags)) == 0 &&
        std::memcmp(core.allocated, kClear.allocated, sizeof(core.allocated)) == 0) {
        return FinishKernelType();
    }
    for (int event = 0; event < kHardEventKinds; ++event) {
        for (int id = 0; id < kEventIds; ++id) {
            ASCENDC_HOST_CHECK(core.flags[event][id] == 0, "flag (HardEvent " + std::to_string(event) +
                                                       ", id " + std::to_string(id) + ") still set at kernel end");
        }
    }
    for (int event = 0; event < kHardEventKinds; ++event) {
        for (int id = 0; id < kEventIds; ++id) {
            ASCENDC_HOST_CHECK(!core.allocated[event][id], "event id " + std::to_string(id) + " of HardEvent " +
                                                          std::to_string(event) + " never released");
        }
    }
    FinishKernelType();
}

// Runs `kernel` on every core in turn: what a launch does on the device.
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

inline void DeclareKernelType(KernelMetaType type)
{
    State().kernelType = static_cast<int>(type);
}

// kernel<<<blockDim, l2ctrl, stream>>>(args...): host_build.py rewrites the launch
// chevrons, the one piece of the printed unit g++ cannot parse, into this call (as the
// AscendC compiler lowers them to a runtime launch).
template <typename... Params>
struct Launch {
    void (*kernel)(Params...);
    uint32_t blockDim;

    template <typename... Args>
    void operator()(Args... args) const
    {
        static_assert(sizeof...(Args) == sizeof...(Params), "the launch passes the wrong arguments");
        static_assert(!(std::is_volatile<std::remove_pointer_t<Args>>::value || ...),
            "a kernel is launched with host-side device addresses (uint8_t*), not __gm__ pointers");
        RunOnEveryCore(blockDim, [&]() { kernel(args...); });
    }
};

template <typename... Params>
Launch<Params...> MakeLaunch(void (*kernel)(Params...), uint32_t blockDim, void* l2ctrl, void* stream)
{
    ASCENDC_HOST_CHECK(l2ctrl == nullptr, "launch: the l2ctrl argument must be nullptr");
    ASCENDC_HOST_CHECK(stream != nullptr, "launch: no stream");
    return {kernel, blockDim};
}

}  // namespace host

#define ASCENDC_HOST_LAUNCH(kernel, blockDim, l2ctrl, stream) \
    ::AscendC::host::MakeLaunch(kernel, blockDim, l2ctrl, stream)

#ifdef ASCENDC_HOST_NO_KERNEL_TYPE
#define KERNEL_TASK_TYPE_DEFAULT(value) \
    static_assert(sizeof(value) == 0, "KERNEL_TASK_TYPE_DEFAULT is not supported on " ASCENDC_HOST_SOC)
#else
#define KERNEL_TASK_TYPE_DEFAULT(value) ::AscendC::host::DeclareKernelType(value)
#endif

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

    // Element `offset` onwards, as a tensor. The API takes a uint32_t offset: a wider
    // value is refused here rather than truncated.
    template <typename U, typename = std::enable_if_t<std::is_integral<U>::value>>
    LocalTensor operator[](U offset) const
    {
        const uint32_t at = host::Narrow<uint32_t>(offset, "LocalTensor::operator[] offset");
        ASCENDC_HOST_CHECK(at <= size_, "LocalTensor offset " + std::to_string(at) + " past its " +
                                     std::to_string(size_) + " elements");
        return LocalTensor(address_ + at * static_cast<int64_t>(sizeof(T)), size_ - at);
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
        tensor_ = host::TensorAt(Host(buffer), "GlobalTensor::SetGlobalBuffer");
    }

    GlobalTensor operator[](uint64_t offset) const
    {
        GlobalTensor view = *this;
        view.base_ = base_ + offset;
        return view;
    }

    ASCENDC_HOST_API T GetValue(uint64_t offset) const
    {
        Check(Host(base_ + offset), static_cast<int64_t>(sizeof(T)), "GlobalTensor::GetValue");
        T value;
        std::memcpy(&value, Host(base_ + offset), sizeof(T));
        return value;
    }

    __gm__ T* GetPhyAddr() const { return base_; }

    // Stand-in only: the GM bytes at `address` as host memory (the device's DMA engines).
    static uint8_t* Host(__gm__ T* address)
    {
        return reinterpret_cast<uint8_t*>(const_cast<T*>(address));
    }

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
    // Not const, as in AscendC: taking a view is an operation on the buffer.
    template <typename T>
    LocalTensor<T> GetWithOffset(uint32_t size, uint32_t bufOffset)
    {
        host::CheckAligned(static_cast<int64_t>(bufOffset), "TBuf::GetWithOffset");
        const int64_t bytes = static_cast<int64_t>(size) * static_cast<int64_t>(sizeof(T));
        ASCENDC_HOST_CHECK(bytes + bufOffset <= bytes_,
            "TBuf::GetWithOffset: " + std::to_string(bytes) + " bytes at offset " +
                std::to_string(bufOffset) + " past the " + std::to_string(bytes_) + "-byte buffer");
        return LocalTensor<T>(address_ + bufOffset, size);
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
static_assert(static_cast<int>(HardEvent::FIX_MTE3) < host::kHardEventKinds, "a HardEvent past the flag tables");

class TPipe {
public:
    // The length is rounded up to 32 bytes, as AscendC does.
    template <TPosition Position>
    void InitBuffer(TBuf<Position>& buf, uint32_t len)
    {
        const int64_t bytes = (static_cast<int64_t>(len) + host::kBlock - 1) / host::kBlock * host::kBlock;
        host::CheckUb(next_, bytes, "TPipe::InitBuffer");
        buf.address_ = next_;
        buf.bytes_ = bytes;
        next_ += bytes;
    }

    template <HardEvent Event>
    TEventID AllocEventID()
    {
#ifdef ASCENDC_HOST_NO_ALLOC_EVENT_ID
        static_assert(host::AbsentValue<Event>::value, "TPipe::AllocEventID is not supported on " ASCENDC_HOST_SOC);
#endif
        for (int id = 0; id < host::kEventIds; ++id) {
            bool& taken = host::State().allocated[static_cast<int>(Event)][id];
            if (!taken) {
                taken = true;
                return static_cast<TEventID>(id);
            }
        }
        host::Error("AllocEventID: all " + std::to_string(host::kEventIds) + " ids of HardEvent " +
                    std::to_string(static_cast<int>(Event)) + " are taken on " ASCENDC_HOST_SOC);
    }

    template <HardEvent Event>
    void ReleaseEventID(TEventID id)
    {
        ASCENDC_HOST_CHECK(id >= 0 && id < host::kEventIds, "ReleaseEventID of an id that is not allocated");
        bool& taken = host::State().allocated[static_cast<int>(Event)][id];
        ASCENDC_HOST_CHECK(taken, "ReleaseEventID of an id that is not allocated");
        ASCENDC_HOST_CHECK(host::State().flags[static_cast<int>(Event)][id] == 0, "ReleaseEventID of a flag still set");
        taken = false;
    }

private:
    int64_t next_ = 0;
};

namespace host {
// The pending count of (Event, eventID), once the id is known to be allocated.
template <HardEvent Event>
int& PendingFlag(int32_t eventID)
{
#ifdef ASCENDC_HOST_NO_SET_WAIT_FLAG
    static_assert(AbsentValue<Event>::value, "SetFlag/WaitFlag is not supported on " ASCENDC_HOST_SOC);
#endif
    constexpr int event = static_cast<int>(Event);
    ASCENDC_HOST_CHECK(eventID >= 0 && eventID < kEventIds,
        "event id " + std::to_string(eventID) + " of HardEvent " +
            std::to_string(static_cast<int>(Event)) + " outside the " + std::to_string(kEventIds) +
            " ids of " ASCENDC_HOST_SOC);
    Core& core = State();
    ASCENDC_HOST_CHECK(core.allocated[event][eventID], "event id " + std::to_string(eventID) + " of HardEvent " +
                                                   std::to_string(event) + " was not allocated");
    return core.flags[event][eventID];
}
}  // namespace host

template <HardEvent Event>
ASCENDC_HOST_API void SetFlag(int32_t eventID)
{
    int& pending = host::PendingFlag<Event>(eventID);
    ASCENDC_HOST_CHECK(pending == 0, "SetFlag on HardEvent " + std::to_string(static_cast<int>(Event)) +
                                  " id " + std::to_string(eventID) + " that is still set");
    pending = 1;
}

template <HardEvent Event>
ASCENDC_HOST_API void WaitFlag(int32_t eventID)
{
    int& pending = host::PendingFlag<Event>(eventID);
    ASCENDC_HOST_CHECK(pending == 1, "WaitFlag on HardEvent " + std::to_string(static_cast<int>(Event)) +
                                  " id " + std::to_string(eventID) +
                                  " with no SetFlag before it: the core would hang");
    pending = 0;
}

// Every pipe waits for every op issued before the barrier. Here every call runs to its
// end before the next one starts: there is nothing left to wait for.
template <pipe_t Pipe>
ASCENDC_HOST_API void PipeBarrier()
{
}

// ------------------------------------------------------------------ data movement
// Lengths and strides in 32-byte blocks, each field 16 bits wide.
struct DataCopyParams {
    host::Field<uint16_t> blockCount{"DataCopyParams.blockCount", 1};
    host::Field<uint16_t> blockLen{"DataCopyParams.blockLen", 0};
    host::Field<uint16_t> srcStride{"DataCopyParams.srcStride", 0};
    host::Field<uint16_t> dstStride{"DataCopyParams.dstStride", 0};
};

// blockLen in bytes; a stride in bytes on the GM side, in 32-byte blocks on the UB side.
struct DataCopyExtParams {
    host::Field<uint16_t> blockCount{"DataCopyExtParams.blockCount", 1};
    host::Field<uint32_t> blockLen{"DataCopyExtParams.blockLen", 0};
    host::Field<uint32_t> srcStride{"DataCopyExtParams.srcStride", 0};
    host::Field<uint32_t> dstStride{"DataCopyExtParams.dstStride", 0};
    host::Field<uint32_t> rsv{"DataCopyExtParams.rsv", 0};
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
    ASCENDC_HOST_CHECK(count <= kMaxBlockCount,
        std::string(what) + ": blockCount " + std::to_string(count) + " outside [0, 4095]");
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

    bool Empty() const { return count == 0 || len == 0; }
    int64_t SrcSpan() const { return (count - 1) * srcPitch + len; }
    int64_t DstSpan() const { return (count - 1) * dstPitch + len; }
};

// DataCopyParams' bursts: length and both strides in 32-byte blocks.
inline BurstLayout BlockBursts(const DataCopyParams& params, const char* what)
{
    CheckBlockCount(params.blockCount, what);
    const int64_t len = static_cast<int64_t>(params.blockLen) * kBlock;
    return {params.blockCount, len, len + static_cast<int64_t>(params.srcStride) * kBlock,
        len + static_cast<int64_t>(params.dstStride) * kBlock};
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

// DataCopy by element count: a uint32_t count, which AscendC turns into
// DataCopyParams.blockLen = count / elements per block, a uint16_t of 32-byte blocks
// (kernel_operator_data_copy_intf_impl.h): both are refused when they do not fit.
template <typename T, typename U>
int64_t CountBytes(U count, const char* what)
{
    const int64_t bytes =
        static_cast<int64_t>(Narrow<uint32_t>(count, what)) * static_cast<int64_t>(sizeof(T));
    Narrow<uint16_t>(bytes / kBlock, "DataCopy count / elements per block (DataCopyParams.blockLen)");
    return bytes;
}
}  // namespace host

// GM -> UB, `count` elements (a uint32_t); the hardware moves whole 32-byte blocks, so a
// length that is not a multiple of 32 bytes is silently rounded down.
template <typename T, typename U, typename = std::enable_if_t<std::is_integral<U>::value>>
ASCENDC_HOST_API void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, U count)
{
    const int64_t moved = host::CountBytes<T>(count, "DataCopy count") / host::kBlock * host::kBlock;
    if (moved == 0) {
        return;
    }
    host::CheckAligned(dst.Address(), "DataCopy GM->UB");
    uint8_t* ub = host::Ub(dst.Address(), moved, "DataCopy GM->UB");
    const uint8_t* gm = GlobalTensor<T>::Host(src.GetPhyAddr());
    src.Check(gm, moved, "DataCopy GM->UB");
    std::memcpy(ub, gm, static_cast<size_t>(moved));
}

// UB -> GM, `count` elements, rounded down to whole 32-byte blocks like GM -> UB.
template <typename T, typename U, typename = std::enable_if_t<std::is_integral<U>::value>>
ASCENDC_HOST_API void DataCopy(const GlobalTensor<T>& dst, const LocalTensor<T>& src, U count)
{
    const int64_t moved = host::CountBytes<T>(count, "DataCopy count") / host::kBlock * host::kBlock;
    if (moved == 0) {
        return;
    }
    host::CheckAligned(src.Address(), "DataCopy UB->GM");
    const uint8_t* ub = host::Ub(src.Address(), moved, "DataCopy UB->GM");
    uint8_t* gm = GlobalTensor<T>::Host(dst.GetPhyAddr());
    dst.Check(gm, moved, "DataCopy UB->GM");
    std::memcpy(gm, ub, static_cast<size_t>(moved));
    host::RecordWrite(gm, moved);
}

// GM -> UB in blockCount bursts; length and both strides in 32-byte blocks.
template <typename T>
ASCENDC_HOST_API void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const DataCopyParams& params)
{
    const host::BurstLayout bursts = host::BlockBursts(params, "DataCopy GM->UB");
    if (bursts.Empty()) {
        return;
    }
    host::CheckAligned(dst.Address(), "DataCopy GM->UB");
    const uint8_t* gm = GlobalTensor<T>::Host(src.GetPhyAddr());
    src.Check(gm, bursts.SrcSpan(), "DataCopy GM->UB");
    host::Bursts(host::Ub(dst.Address(), bursts.DstSpan(), "DataCopy GM->UB"), gm, bursts);
}

// UB -> GM in blockCount bursts; length and both strides in 32-byte blocks.
template <typename T>
ASCENDC_HOST_API void DataCopy(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& params)
{
    const host::BurstLayout bursts = host::BlockBursts(params, "DataCopy UB->GM");
    if (bursts.Empty()) {
        return;
    }
    host::CheckAligned(src.Address(), "DataCopy UB->GM");
    uint8_t* gm = GlobalTensor<T>::Host(dst.GetPhyAddr());
    dst.Check(gm, bursts.DstSpan(), "DataCopy UB->GM");
    host::Bursts(gm, host::Ub(src.Address(), bursts.SrcSpan(), "DataCopy UB->GM"), bursts);
    host::RecordBursts(gm, bursts);
}

// UB -> UB (vector pipe) in blockCount bursts; length and strides in 32-byte blocks.
template <typename T>
ASCENDC_HOST_API void DataCopy(const LocalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& params)
{
#ifdef ASCENDC_HOST_NO_UB_TO_UB_DATA_COPY
    static_assert(host::Absent<T>::value, "DataCopy (UB -> UB) is not supported on " ASCENDC_HOST_SOC);
#endif
    const host::BurstLayout bursts = host::BlockBursts(params, "DataCopy UB->UB");
    if (bursts.Empty()) {
        return;
    }
    host::CheckAligned(src.Address(), "DataCopy UB->UB");
    host::CheckAligned(dst.Address(), "DataCopy UB->UB");
    const uint8_t* from = host::Ub(src.Address(), bursts.SrcSpan(), "DataCopy UB->UB");
    uint8_t* to = host::Ub(dst.Address(), bursts.DstSpan(), "DataCopy UB->UB");
    if (to + bursts.DstSpan() <= from || from + bursts.SrcSpan() <= to) {
        host::Bursts(to, from, bursts);
        return;
    }
    // Overlapping ranges: every burst reads the source as it was before the copy.
    std::vector<uint8_t> staged(from, from + bursts.SrcSpan());
    host::Bursts(to, staged.data(), bursts);
}

// GM -> UB, any byte length: burst b is blockLen bytes from src + b * (blockLen + srcStride)
// to dst + b * (blockLen rounded up to 32 + dstStride * 32). The pad bytes of each UB block
// hold no data (here: garbage).
template <typename T>
ASCENDC_HOST_API void DataCopyPad(const LocalTensor<T>& dst, const GlobalTensor<T>& src,
    const DataCopyExtParams& params, const DataCopyPadExtParams<T>& padParams)
{
#ifdef ASCENDC_HOST_NO_DATA_COPY_PAD
    static_assert(host::Absent<T>::value, "DataCopyPad is not supported on " ASCENDC_HOST_SOC);
#endif
    host::CheckBlockCount(params.blockCount, "DataCopyPad GM->UB");
    const int64_t len = static_cast<uint32_t>(params.blockLen);
    if (params.blockCount == 0 || len == 0) {
        return;
    }
    host::CheckAligned(dst.Address(), "DataCopyPad GM->UB");
    ASCENDC_HOST_CHECK(!padParams.isPad, "DataCopyPad GM->UB: padding values are not modelled");
    ASCENDC_HOST_CHECK(len <= host::kMaxPadBlockLen && len % static_cast<int64_t>(sizeof(T)) == 0,
        "DataCopyPad GM->UB: blockLen " + std::to_string(len) + " bytes is out of range or not a "
        "whole number of elements");
    const int64_t padded = host::AlignUp(len);
    const host::BurstLayout bursts{params.blockCount, len,
        len + static_cast<int64_t>(static_cast<uint32_t>(params.srcStride)),
        padded + static_cast<int64_t>(static_cast<uint32_t>(params.dstStride)) * host::kBlock};
    const uint8_t* gm = GlobalTensor<T>::Host(src.GetPhyAddr());
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
ASCENDC_HOST_API void DataCopyPad(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyExtParams& params)
{
#ifdef ASCENDC_HOST_NO_DATA_COPY_PAD
    static_assert(host::Absent<T>::value, "DataCopyPad is not supported on " ASCENDC_HOST_SOC);
#endif
    host::CheckBlockCount(params.blockCount, "DataCopyPad UB->GM");
    const int64_t len = static_cast<uint32_t>(params.blockLen);
    if (params.blockCount == 0 || len == 0) {
        return;
    }
    host::CheckAligned(src.Address(), "DataCopyPad UB->GM");
    ASCENDC_HOST_CHECK(len <= host::kMaxPadBlockLen,
        "DataCopyPad UB->GM: blockLen " + std::to_string(len) + " bytes is out of range");
    const host::BurstLayout bursts{params.blockCount, len,
        host::AlignUp(len) + static_cast<int64_t>(static_cast<uint32_t>(params.srcStride)) * host::kBlock,
        len + static_cast<int64_t>(static_cast<uint32_t>(params.dstStride))};
    uint8_t* gm = GlobalTensor<T>::Host(dst.GetPhyAddr());
    dst.Check(gm, bursts.DstSpan(), "DataCopyPad UB->GM");
    host::Bursts(gm, host::Ub(src.Address(), bursts.SrcSpan(), "DataCopyPad UB->GM"), bursts);
    host::RecordBursts(gm, bursts);
}

// ------------------------------------------------------------------ multi-dimensional copy
// Ascend 950's GM -> UB copy of up to 5 nested loops (NDDMA, asc-devkit's
// MultiCopyLoopInfo / MultiCopyParams): element (i0, ..., in) moves from
// src[sum(i_k * loopSrcStride[k])] to dst[sum(i_k * loopDstStride[k])], strides and sizes
// in elements. Padding (loopLpSize / loopRpSize, the config's pads) is not modelled and
// must be 0.
struct NdDmaConfig {
    static constexpr uint16_t unsetPad = 0xffff;
    bool isNearestValueMode = false;
    uint16_t loopLpSize = unsetPad;
    uint16_t loopRpSize = unsetPad;
    bool ascOptimize = false;
};
using MultiCopyConfig = NdDmaConfig;
constexpr NdDmaConfig kDefaultMultiCopyConfig = {false, NdDmaConfig::unsetPad, NdDmaConfig::unsetPad, false};

namespace host {
// One field of a MultiCopyLoopInfo array: refuses a value its width would truncate.
template <typename T>
class LoopField {
public:
    template <typename U, typename = std::enable_if_t<std::is_integral<U>::value>>
    LoopField& operator=(U value)
    {
        value_ = Narrow<T>(value, "MultiCopyLoopInfo field");
        return *this;
    }
    operator T() const { return value_; }

private:
    T value_ = 0;
};
}  // namespace host

template <uint8_t dim>
struct MultiCopyLoopInfo {
    static_assert(dim >= 1 && dim <= 5, "MultiCopy Dims must be between 1 and 5.");
    host::LoopField<uint64_t> loopSrcStride[dim];
    host::LoopField<uint32_t> loopDstStride[dim];
    host::LoopField<uint32_t> loopSize[dim];
    host::LoopField<uint8_t> loopLpSize[dim];
    host::LoopField<uint8_t> loopRpSize[dim];
};

template <typename T, uint8_t dim>
struct MultiCopyParams {
    MultiCopyLoopInfo<dim> loopInfo;
    T constantValue;
};

template <typename T, uint8_t dim, const MultiCopyConfig& config = kDefaultMultiCopyConfig>
ASCENDC_HOST_API void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const MultiCopyParams<T, dim>& params)
{
#ifdef ASCENDC_HOST_NO_ND_DMA
    static_assert(host::Absent<T>::value, "DataCopy (GM -> UB, MultiCopyParams) is not supported on " ASCENDC_HOST_SOC);
#endif
    const MultiCopyLoopInfo<dim>& loops = params.loopInfo;
    int64_t srcSpan = 1, dstSpan = 1, count = 1;
    for (int k = 0; k < dim; ++k) {
        ASCENDC_HOST_CHECK(loops.loopLpSize[k] == 0 && loops.loopRpSize[k] == 0,
            "DataCopy (MultiCopyParams): padding is not modelled");
        const int64_t size = static_cast<uint32_t>(loops.loopSize[k]);
        if (size == 0) {
            return;
        }
        count *= size;
        srcSpan += (size - 1) * static_cast<int64_t>(static_cast<uint64_t>(loops.loopSrcStride[k]));
        dstSpan += (size - 1) * static_cast<int64_t>(static_cast<uint32_t>(loops.loopDstStride[k]));
    }
    const int64_t width = static_cast<int64_t>(sizeof(T));
    host::CheckAligned(dst.Address(), "DataCopy (MultiCopyParams)");
    uint8_t* ub = host::Ub(dst.Address(), dstSpan * width, "DataCopy (MultiCopyParams)");
    const uint8_t* gm = GlobalTensor<T>::Host(src.GetPhyAddr());
    src.Check(gm, srcSpan * width, "DataCopy (MultiCopyParams)");
    // Walk every index tuple, the last loop innermost; all of it at once when both its
    // strides are 1.
    const bool packed = static_cast<uint64_t>(loops.loopSrcStride[dim - 1]) == 1 &&
                        static_cast<uint32_t>(loops.loopDstStride[dim - 1]) == 1;
    const int64_t run = packed ? static_cast<uint32_t>(loops.loopSize[dim - 1]) : 1;
    int64_t index[dim] = {0};
    for (int64_t done = 0; done < count; done += run) {
        int64_t from = 0, to = 0;
        for (int k = 0; k < dim; ++k) {
            from += index[k] * static_cast<int64_t>(static_cast<uint64_t>(loops.loopSrcStride[k]));
            to += index[k] * static_cast<int64_t>(static_cast<uint32_t>(loops.loopDstStride[k]));
        }
        std::memmove(ub + to * width, gm + from * width, static_cast<size_t>(run * width));
        for (int k = packed ? dim - 2 : dim - 1; k >= 0; --k) {
            if (++index[k] < static_cast<uint32_t>(loops.loopSize[k])) {
                break;
            }
            index[k] = 0;
        }
    }
}

// ------------------------------------------------------------------ vector fill
template <typename T>
ASCENDC_HOST_API void Duplicate(const LocalTensor<T>& dst, const T& scalarValue, const int32_t& count)
{
    host::CheckAligned(dst.Address(), "Duplicate");
    ASCENDC_HOST_CHECK(count >= 0 && count <= dst.GetSize(), "Duplicate: count " +
        std::to_string(count) + " past the tensor's " + std::to_string(dst.GetSize()) + " elements");
    uint8_t* ub = host::Ub(dst.Address(), count * static_cast<int64_t>(sizeof(T)), "Duplicate");
    for (int32_t i = 0; i < count; ++i) {
        std::memcpy(ub + i * sizeof(T), &scalarValue, sizeof(T));
    }
}

// ------------------------------------------------------------------ Compute stage
// The element loops below run per element of every tile: optimised and inlined even
// though units build with -Og (host_build.py), which otherwise leaves every Load, Store
// and conversion a call (a fused kernel then ran 4x slower than numpy).
#pragma GCC push_options
#pragma GCC optimize("O2")
// Cast, Adds, Muls, Maxs, Mins, Add, Sub, Mul on float tiles: what a fused body prints. Every
// conversion is written from the formats' definitions, bit for bit what the pakv
// interpreter computes with numpy and ml_dtypes (round to nearest even; overflow to
// +-inf; -0.0 kept; half NaNs keep their payload as numpy keeps it, bfloat16 and fp8
// NaNs become the canonical quiet NaN of their sign as ml_dtypes makes them; HiFloat8
// from its definition, arXiv 2409.16626). Float arithmetic is the host's IEEE-754
// single precision, one operation per statement (nothing contracted into an FMA).
// The configured SoC's Cast table (ASCENDC_HOST_CASTS, from pakv_dialect/soc.py)
// refuses a (source, target, round mode) the AscendC documentation does not list.
enum class RoundMode : uint8_t {
    CAST_NONE = 0, CAST_RINT, CAST_FLOOR, CAST_CEIL, CAST_ROUND, CAST_TRUNC, CAST_ODD, CAST_HYBRID
};

namespace host {

inline uint32_t FloatBits(float value)
{
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return bits;
}

inline float BitsFloat(uint32_t bits)
{
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
}

inline float HalfToFloat(uint16_t h)
{
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1fu) {  // infinity, or NaN with its payload shifted (numpy)
        return BitsFloat(sign | 0x7f800000u | (mantissa << 13));
    }
    if (exponent == 0) {
        if (mantissa == 0) {
            return BitsFloat(sign);
        }
        int e = -14;  // a subnormal half is a normal float
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --e;
        }
        return BitsFloat(sign | (static_cast<uint32_t>(e + 127) << 23) | ((mantissa & 0x3ffu) << 13));
    }
    return BitsFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

inline uint16_t FloatToHalf(float value)
{
    const uint32_t f = FloatBits(value);
    const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
    const uint32_t magnitude = f & 0x7fffffffu;
    if (magnitude > 0x7f800000u) {  // NaN: the top payload bits, kept a NaN (numpy)
        uint16_t payload = static_cast<uint16_t>((magnitude & 0x7fffffu) >> 13);
        return static_cast<uint16_t>(sign | 0x7c00u | (payload == 0 ? 1u : payload));
    }
    if (magnitude >= 0x477ff000u) {  // 65520 and up round past 65504: infinity
        return static_cast<uint16_t>(sign | 0x7c00u);
    }
    if (magnitude >= 0x38800000u) {  // a normal half: round the 13 dropped bits, ties to even
        const uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);
        return static_cast<uint16_t>(sign | ((rounded >> 13) - ((127u - 15u) << 10)));
    }
    if (magnitude < 0x33000000u) {  // below half the least subnormal: zero
        return sign;
    }
    const uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(magnitude >> 23);  // 14 .. 24
    const uint32_t kept = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1);
    const uint32_t up = rest > half || (rest == half && (kept & 1u)) ? 1u : 0u;
    return static_cast<uint16_t>(sign | (kept + up));
}

inline float BfloatToFloat(uint16_t b)
{
    return BitsFloat(static_cast<uint32_t>(b) << 16);
}

inline uint16_t FloatToBfloat(float value)
{
    const uint32_t f = FloatBits(value);
    if ((f & 0x7fffffffu) > 0x7f800000u) {  // NaN: the quiet NaN of its sign (ml_dtypes)
        return static_cast<uint16_t>(((f >> 16) & 0x8000u) | 0x7fc0u);
    }
    return static_cast<uint16_t>((f + 0x7fffu + ((f >> 16) & 1u)) >> 16);
}

inline float CanonicalNan(uint32_t sign)
{
    return BitsFloat(sign | 0x7fc00000u);
}

inline float E5m2ToFloat(uint8_t b)
{
    if ((b & 0x7cu) == 0x7cu && (b & 0x03u) != 0) {
        return CanonicalNan(static_cast<uint32_t>(b & 0x80u) << 24);
    }
    return HalfToFloat(static_cast<uint16_t>(b) << 8);  // fp8_e5m2 is half's top byte
}

inline float E4m3fnToFloat(uint8_t b)
{
    const uint32_t sign = static_cast<uint32_t>(b & 0x80u) << 24;
    if ((b & 0x7fu) == 0x7fu) {  // no infinity: S.1111.111 is NaN
        return CanonicalNan(sign);
    }
    const uint32_t exponent = (b >> 3) & 0xfu;
    const uint32_t mantissa = b & 0x7u;
    if (exponent == 0) {  // subnormal: mantissa * 2^-9, exact in float
        const float value = static_cast<float>(mantissa) * BitsFloat(0x3b000000u);
        return BitsFloat(sign | FloatBits(value));
    }
    return BitsFloat(sign | ((exponent - 7 + 127) << 23) | (mantissa << 20));
}

// HiFloat8 (arXiv 2409.16626): sign, a prefix-coded dot field giving the exponent width
// D (11: 4, 10: 3, 01: 2, 001: 1, 0001: 0), D sign-magnitude exponent bits with an
// implicit leading 1, the rest mantissa; 0000 is the denormal mode 2^(M - 23); 0x00 is
// zero, 0x80 NaN, 0x6f/0xef +-infinity.
inline float Hifloat8ToFloat(uint8_t b)
{
    const uint32_t sign = static_cast<uint32_t>(b & 0x80u) << 24;
    const uint32_t bits = b & 0x7fu;
    if (bits == 0x6fu) {
        return BitsFloat(sign | 0x7f800000u);
    }
    int width = -1;
    int used = 0;
    if ((bits >> 5) == 3u) {
        width = 4, used = 2;
    } else if ((bits >> 5) == 2u) {
        width = 3, used = 2;
    } else if ((bits >> 5) == 1u) {
        width = 2, used = 2;
    } else if ((bits >> 4) == 1u) {
        width = 1, used = 3;
    } else if ((bits >> 3) == 1u) {
        width = 0, used = 4;
    }
    if (width < 0) {  // the denormal mode
        const uint32_t m = bits & 0x7u;
        if (m == 0) {
            return b == 0x80u ? CanonicalNan(0) : BitsFloat(0);
        }
        return BitsFloat(sign | ((static_cast<uint32_t>(m) - 23u + 127u) << 23));
    }
    const int mantissaBits = 7 - used - width;
    const uint32_t mantissa = bits & ((1u << mantissaBits) - 1u);
    int exponent = 0;
    if (width > 0) {
        const uint32_t field = (bits >> mantissaBits) & ((1u << width) - 1u);
        const uint32_t magnitude = (1u << (width - 1)) | (field & ((1u << (width - 1)) - 1u));
        exponent = (field >> (width - 1)) ? -static_cast<int>(magnitude) : static_cast<int>(magnitude);
    }
    return BitsFloat(sign | (static_cast<uint32_t>(exponent + 127) << 23) | (mantissa << (23 - mantissaBits)));
}

// Element types: the name pakv_dialect/dtypes.py gives them, and their values as floats.
template <typename T> struct Element;
#define ASCENDC_HOST_INTEGER(T, NAME)                                            \
    template <> struct Element<T> {                                             \
        static constexpr const char* name = NAME;                               \
        static float ToFloat(T v) { return static_cast<float>(v); }             \
    };
ASCENDC_HOST_INTEGER(int8_t, "int8")
ASCENDC_HOST_INTEGER(uint8_t, "uint8")
ASCENDC_HOST_INTEGER(int16_t, "int16")
ASCENDC_HOST_INTEGER(uint16_t, "uint16")
ASCENDC_HOST_INTEGER(int32_t, "int32")
ASCENDC_HOST_INTEGER(uint32_t, "uint32")
#undef ASCENDC_HOST_INTEGER
template <> struct Element<float> {
    static constexpr const char* name = "fp32";
    static float ToFloat(float v) { return v; }
    static float FromFloat(float v) { return v; }
};
template <> struct Element<half> {
    static constexpr const char* name = "fp16";
    static float ToFloat(half v) { return HalfToFloat(v.bits); }
    static half FromFloat(float v) { return half{FloatToHalf(v)}; }
};
template <> struct Element<bfloat16_t> {
    static constexpr const char* name = "bf16";
    static float ToFloat(bfloat16_t v) { return BfloatToFloat(v.bits); }
    static bfloat16_t FromFloat(float v) { return bfloat16_t{FloatToBfloat(v)}; }
};
// float -> an fp8 format of `mantissa` bits and exponent `bias`, rounded to nearest even
// (std::nearbyint, the default rounding mode, on an exact power-of-two scaling) and
// saturated to +-`largest` (precision_conversion.md: overflow saturates by default);
// NaN becomes the quiet NaN of its sign as ml_dtypes makes it (`nanBits`).
inline uint8_t FloatToFp8(float value, int mantissa, int bias, float largest, uint8_t nanBits)
{
    const uint8_t sign = std::signbit(value) ? 0x80u : 0u;
    if (std::isnan(value)) {
        return static_cast<uint8_t>(sign | nanBits);
    }
    const float magnitude = std::fmin(std::fabs(value), largest);
    int binade = 0;
    std::frexp(magnitude, &binade);  // magnitude = f * 2^binade, f in [0.5, 1)
    const int least = 1 - bias;      // the subnormals' exponent
    const float quantum = std::ldexp(1.0f, std::max(binade - 1, least) - mantissa);
    const float rounded = std::fmin(std::nearbyint(magnitude / quantum) * quantum, largest);
    if (rounded == 0.0f) {
        return sign;
    }
    std::frexp(rounded, &binade);
    const int exponent = binade - 1;
    if (exponent < least) {  // subnormal: a multiple of 2^(least - mantissa)
        return static_cast<uint8_t>(sign | static_cast<int>(std::ldexp(rounded, mantissa - least)));
    }
    const int fraction = static_cast<int>(std::ldexp(rounded, mantissa - exponent)) - (1 << mantissa);
    return static_cast<uint8_t>(sign | ((exponent + bias) << mantissa) | fraction);
}

template <> struct Element<fp8_e5m2_t> {
    static constexpr const char* name = "fp8_e5m2";
    static float ToFloat(fp8_e5m2_t v) { return E5m2ToFloat(v.bits); }
    static fp8_e5m2_t FromFloat(float v) { return fp8_e5m2_t{FloatToFp8(v, 2, 15, 57344.0f, 0x7eu)}; }
};
template <> struct Element<fp8_e4m3fn_t> {
    static constexpr const char* name = "fp8_e4m3fn";
    static float ToFloat(fp8_e4m3fn_t v) { return E4m3fnToFloat(v.bits); }
    static fp8_e4m3fn_t FromFloat(float v) { return fp8_e4m3fn_t{FloatToFp8(v, 3, 7, 448.0f, 0x7fu)}; }
};
template <> struct Element<hifloat8_t> {
    static constexpr const char* name = "hifloat8";
    static float ToFloat(hifloat8_t v) { return Hifloat8ToFloat(v.bits); }
};

// One element converted: integers to integers by value; float to float (CAST_RINT) to
// an integer, ties to even; a float to an integer rounded to nearest even and saturated
// (precision_conversion.md), NaN, which the docs leave open, as 0; anything else through
// its exact float value and one rounding to the target.
template <typename T, typename U>
T Convert(U value)
{
    if constexpr (std::is_same<T, U>::value) {
        static_assert(std::is_same<T, float>::value, "Cast to its own type rounds floats only");
        return std::nearbyint(value);
    } else if constexpr (std::is_integral<T>::value && !std::is_integral<U>::value) {
        const float f = Element<U>::ToFloat(value);
        if (std::isnan(f)) {
            return 0;
        }
        const float low = static_cast<float>(std::numeric_limits<T>::min());
        const float high = static_cast<float>(std::numeric_limits<T>::max());
        return static_cast<T>(std::fmin(std::fmax(std::nearbyint(f), low), high));
    } else if constexpr (std::is_integral<T>::value) {
        return static_cast<T>(value);
    } else {
        return Element<T>::FromFloat(Element<U>::ToFloat(value));
    }
}

// Convert's result for every value of an 8- or 16-bit U, computed once by Convert
// itself: a Cast from such a type is then one table read per element (the same bits).
template <typename T, typename U>
const T* ConvertTable()
{
    static_assert(sizeof(U) <= 2, "a table per source value needs a narrow source");
    using Bits = std::conditional_t<sizeof(U) == 1, uint8_t, uint16_t>;
    static const std::vector<T> table = [] {
        std::vector<T> values(size_t{1} << (8 * sizeof(U)));
        for (size_t bits = 0; bits < values.size(); ++bits) {
            const Bits raw = static_cast<Bits>(bits);
            U value;
            std::memcpy(&value, &raw, sizeof(U));
            values[bits] = Convert<T, U>(value);
        }
        return values;
    }();
    return table.data();
}

inline const char* RoundModeName(RoundMode mode)
{
    static const char* const names[] = {
        "CAST_NONE", "CAST_RINT", "CAST_FLOOR", "CAST_CEIL", "CAST_ROUND", "CAST_TRUNC", "CAST_ODD", "CAST_HYBRID"};
    return names[static_cast<int>(mode)];
}

// "int8>fp16:N;int16>fp16:NR;...": the configured SoC's Cast table (pakv_dialect/soc.py:
// each mode by the letter after CAST_).
inline bool CastListed(const char* source, const char* target, RoundMode mode)
{
    const std::string table = ASCENDC_HOST_CASTS;
    const std::string pair = std::string(source) + ">" + target + ":";
    for (size_t at = table.find(pair); at != std::string::npos; at = table.find(pair, at + 1)) {
        if (at != 0 && table[at - 1] != ';') {
            continue;
        }
        const size_t end = table.find(';', at);
        const std::string modes = table.substr(at + pair.size(), end - at - pair.size());
        const char wanted = RoundModeName(mode)[5];  // CAST_NONE: 'N', CAST_RINT: 'R'...
        return modes.find(wanted) != std::string::npos;
    }
    return false;
}

// Vector operands: 32-byte aligned, inside the UB; a source that overlaps its target must
// be the very same range (in place), and a Cast's may not overlap at all.
inline void CheckOperands(int64_t dst, int64_t dstBytes, int64_t src, int64_t srcBytes, bool inPlace,
    const char* what)
{
    CheckAligned(dst, what);
    CheckAligned(src, what);
    const bool overlap = dst < src + srcBytes && src < dst + dstBytes;
    ASCENDC_HOST_CHECK(!overlap || (inPlace && dst == src && dstBytes == srcBytes),
        std::string(what) + ": operands [" + std::to_string(src) + ", " + std::to_string(src + srcBytes) +
            ") and [" + std::to_string(dst) + ", " + std::to_string(dst + dstBytes) + ") overlap");
}

template <typename T>
T Load(const uint8_t* at, int64_t i)
{
    T value;
    std::memcpy(&value, at + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    return value;
}

template <typename T>
void Store(uint8_t* at, int64_t i, T value)
{
    std::memcpy(at + i * static_cast<int64_t>(sizeof(T)), &value, sizeof(T));
}

template <typename T, typename F>
void FloatBinary(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1,
    int64_t count, F op, const char* what)
{
    static_assert(std::is_same<T, float>::value, "the stand-in computes on float tiles");
    const int64_t bytes = count * static_cast<int64_t>(sizeof(T));
    CheckOperands(dst.Address(), bytes, src0.Address(), bytes, true, what);
    CheckOperands(dst.Address(), bytes, src1.Address(), bytes, true, what);
    ASCENDC_HOST_CHECK(count <= dst.GetSize() && count <= src0.GetSize() && count <= src1.GetSize(),
        std::string(what) + ": count " + std::to_string(count) + " past a tensor's elements");
    const uint8_t* a = Ub(src0.Address(), bytes, what);
    const uint8_t* b = Ub(src1.Address(), bytes, what);
    uint8_t* out = Ub(dst.Address(), bytes, what);
    for (int64_t i = 0; i < count; ++i) {
        const float result = op(Load<float>(a, i), Load<float>(b, i));
        Store<float>(out, i, result);
    }
}

template <typename T, typename F>
void FloatScalar(const LocalTensor<T>& dst, const LocalTensor<T>& src, T scalar, int64_t count, F op,
    const char* what)
{
    static_assert(std::is_same<T, float>::value, "the stand-in computes on float tiles");
    const int64_t bytes = count * static_cast<int64_t>(sizeof(T));
    CheckOperands(dst.Address(), bytes, src.Address(), bytes, true, what);
    ASCENDC_HOST_CHECK(count <= dst.GetSize() && count <= src.GetSize(),
        std::string(what) + ": count " + std::to_string(count) + " past a tensor's elements");
    const uint8_t* a = Ub(src.Address(), bytes, what);
    uint8_t* out = Ub(dst.Address(), bytes, what);
    for (int64_t i = 0; i < count; ++i) {
        const float result = op(Load<float>(a, i), scalar);
        Store<float>(out, i, result);
    }
}

}  // namespace host

// Convert `count` elements of src to dst's type with `roundMode`; the count is Cast's
// uint32_t, refused when it would not fit.
template <typename T, typename U, typename V, typename = std::enable_if_t<std::is_integral<V>::value>>
ASCENDC_HOST_API void Cast(const LocalTensor<T>& dst, const LocalTensor<U>& src, const RoundMode& roundMode,
    const V& count)
{
    const int64_t n = host::Narrow<uint32_t>(count, "Cast count");
    ASCENDC_HOST_CHECK(host::CastListed(host::Element<U>::name, host::Element<T>::name, roundMode),
        std::string("Cast from ") + host::Element<U>::name + " to " + host::Element<T>::name +
            " with RoundMode::" + host::RoundModeName(roundMode) +
            " is not in the AscendC Cast table of " ASCENDC_HOST_SOC);
    ASCENDC_HOST_CHECK(n <= dst.GetSize() && n <= src.GetSize(),
        "Cast: count " + std::to_string(n) + " past a tensor's elements");
    const int64_t srcBytes = n * static_cast<int64_t>(sizeof(U));
    const int64_t dstBytes = n * static_cast<int64_t>(sizeof(T));
    host::CheckOperands(dst.Address(), dstBytes, src.Address(), srcBytes, false, "Cast");
    const uint8_t* from = host::Ub(src.Address(), srcBytes, "Cast");
    uint8_t* to = host::Ub(dst.Address(), dstBytes, "Cast");
    if constexpr (sizeof(U) <= 2) {
        using Bits = std::conditional_t<sizeof(U) == 1, uint8_t, uint16_t>;
        const T* table = host::ConvertTable<T, U>();
        for (int64_t i = 0; i < n; ++i) {
            host::Store<T>(to, i, table[host::Load<Bits>(from, i)]);
        }
    } else {
        for (int64_t i = 0; i < n; ++i) {
            host::Store<T>(to, i, host::Convert<T, U>(host::Load<U>(from, i)));
        }
    }
}

template <typename T, typename V, typename = std::enable_if_t<std::is_integral<V>::value>>
ASCENDC_HOST_API void Adds(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const V& count)
{
    host::FloatScalar(dst, src, scalarValue, host::Narrow<int32_t>(count, "Adds count"),
        [](float x, float s) { return x + s; }, "Adds");
}

template <typename T, typename V, typename = std::enable_if_t<std::is_integral<V>::value>>
ASCENDC_HOST_API void Muls(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const V& count)
{
    host::FloatScalar(dst, src, scalarValue, host::Narrow<int32_t>(count, "Muls count"),
        [](float x, float s) { return x * s; }, "Muls");
}

// Maxs / Mins: a quantising body's clamp; a NaN element stays NaN (as arith.maximumf).
template <typename T, typename V, typename = std::enable_if_t<std::is_integral<V>::value>>
ASCENDC_HOST_API void Maxs(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const V& count)
{
    host::FloatScalar(dst, src, scalarValue, host::Narrow<int32_t>(count, "Maxs count"),
        [](float x, float s) { return std::isnan(x) || x >= s ? x : s; }, "Maxs");
}

template <typename T, typename V, typename = std::enable_if_t<std::is_integral<V>::value>>
ASCENDC_HOST_API void Mins(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const V& count)
{
    host::FloatScalar(dst, src, scalarValue, host::Narrow<int32_t>(count, "Mins count"),
        [](float x, float s) { return std::isnan(x) || x <= s ? x : s; }, "Mins");
}

template <typename T, typename V, typename = std::enable_if_t<std::is_integral<V>::value>>
ASCENDC_HOST_API void Add(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1,
    const V& count)
{
    host::FloatBinary(dst, src0, src1, host::Narrow<int32_t>(count, "Add count"),
        [](float a, float b) { return a + b; }, "Add");
}

template <typename T, typename V, typename = std::enable_if_t<std::is_integral<V>::value>>
ASCENDC_HOST_API void Sub(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1,
    const V& count)
{
    host::FloatBinary(dst, src0, src1, host::Narrow<int32_t>(count, "Sub count"),
        [](float a, float b) { return a - b; }, "Sub");
}

template <typename T, typename V, typename = std::enable_if_t<std::is_integral<V>::value>>
ASCENDC_HOST_API void Mul(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1,
    const V& count)
{
    host::FloatBinary(dst, src0, src1, host::Narrow<int32_t>(count, "Mul count"),
        [](float a, float b) { return a * b; }, "Mul");
}

#pragma GCC pop_options

}  // namespace AscendC

#endif  // PAKV_ASCENDC_HOST_KERNEL_OPERATOR_H
