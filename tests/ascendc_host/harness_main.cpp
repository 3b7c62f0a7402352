// Runs one kernel printed by pakv's ascendc target on the host stand-in of AscendC.
//
// Built once per kernel with the printed unit included (PAKV_KERNEL_SOURCE, its entry
// named by PAKV_KERNEL_ENTRY), then run once per data set:
//     harness <manifest>
// The manifest is whitespace-separated text written by runtime/ascendc/host_build.py:
//     ub_bytes <usable UB bytes of the SoC>
//     shape <the arguments of ComputeGatherTiling, in order>
//     gm <in|out> <bytes> <file>        (one line per kernel argument, in order)
// The harness computes the tiling with the unit's own host function, prints it as
// "tiling <fields...>", runs the entry on every core (blockDim = usedCores) and writes
// each "out" tensor back to its file. A broken hardware rule exits with status 3.
#include "kernel_operator.h"
#include PAKV_KERNEL_SOURCE

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

struct GmFile {
    bool output = false;
    std::string path;
    std::vector<uint8_t> bytes;
};

template <typename R, typename... Args, size_t... I>
R CallWithValues(R (*fn)(Args...), const std::vector<int64_t>& values, std::index_sequence<I...>)
{
    return fn(static_cast<Args>(values[I])...);
}

template <typename R, typename... Args>
R CallWithValues(R (*fn)(Args...), const std::vector<int64_t>& values)
{
    if (values.size() != sizeof...(Args)) {
        std::cerr << "harness: ComputeGatherTiling takes " << sizeof...(Args) << " values, got "
                  << values.size() << "\n";
        std::exit(2);
    }
    return CallWithValues(fn, values, std::index_sequence_for<Args...>{});
}

// The entry takes the GM tensors, then the workspace and the tiling.
template <typename... Args, size_t... I>
void CallEntry(void (*entry)(Args...), const std::vector<uint8_t*>& gm, uint8_t* tiling,
    std::index_sequence<I...>)
{
    const auto argument = [&](size_t i) -> uint8_t* {
        if (i < gm.size()) {
            return gm[i];
        }
        return i == gm.size() ? nullptr : tiling;
    };
    entry(argument(I)...);
}

template <typename... Args>
void CallEntry(void (*entry)(Args...), const std::vector<uint8_t*>& gm, uint8_t* tiling)
{
    if (gm.size() + 2 != sizeof...(Args)) {
        std::cerr << "harness: the entry takes " << sizeof...(Args) << " addresses, the manifest has "
                  << gm.size() << " tensors\n";
        std::exit(2);
    }
    CallEntry(entry, gm, tiling, std::index_sequence_for<Args...>{});
}

std::vector<uint8_t> ReadFile(const std::string& path, size_t bytes)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() != bytes) {
        std::cerr << "harness: " << path << " holds " << data.size() << " bytes, expected " << bytes
                  << "\n";
        std::exit(2);
    }
    return data;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: harness <manifest>\n";
        return 2;
    }
    std::ifstream manifest(argv[1]);
    std::vector<int64_t> shape;
    std::vector<GmFile> files;
    std::string key;
    while (manifest >> key) {
        if (key == "ub_bytes") {
            manifest >> AscendC::host::State().ubCapacity;
        } else if (key == "shape") {
            std::string line;
            std::getline(manifest, line);
            std::istringstream values(line);
            int64_t value = 0;
            while (values >> value) {
                shape.push_back(value);
            }
        } else if (key == "gm") {
            GmFile file;
            std::string direction;
            size_t bytes = 0;
            manifest >> direction >> bytes >> file.path;
            file.output = direction == "out";
            file.bytes = ReadFile(file.path, bytes);
            files.push_back(std::move(file));
        } else {
            std::cerr << "harness: unknown manifest entry '" << key << "'\n";
            return 2;
        }
    }

    const GatherTilingData tiling = CallWithValues(ComputeGatherTiling, shape);
    std::vector<uint8_t> tilingGm(sizeof(tiling));
    std::memcpy(tilingGm.data(), &tiling, sizeof(tiling));
    std::cout << "tiling";
    for (size_t i = 0; i < sizeof(tiling) / sizeof(int64_t); ++i) {
        int64_t word = 0;
        std::memcpy(&word, tilingGm.data() + i * sizeof(int64_t), sizeof(word));
        std::cout << " " << word;
    }
    std::cout << "\n";

    std::vector<uint8_t*> gm;
    for (GmFile& file : files) {
        gm.push_back(file.bytes.data());
        AscendC::host::RegisterGm(file.bytes.data(), static_cast<int64_t>(file.bytes.size()));
    }
    AscendC::host::RegisterGm(tilingGm.data(), static_cast<int64_t>(tilingGm.size()));
    ICPU_RUN_KF(CallEntry, tiling.usedCores, PAKV_KERNEL_ENTRY, gm, tilingGm.data());

    for (const GmFile& file : files) {
        if (file.output) {
            std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char*>(file.bytes.data()),
                static_cast<std::streamsize>(file.bytes.size()));
        }
    }
    return 0;
}
