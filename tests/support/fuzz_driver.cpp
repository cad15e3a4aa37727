// Driver for fuzz targets in builds without libFuzzer (gcc, or clang without
// COVET_FUZZ): replays every file of the target's corpus and then a fixed
// number of deterministic mutations of them (bit flips, truncations,
// duplications, random bytes), so the sanitizer builds exercise each target.
//   <target> [file...]   replay only the given files
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct xorshift {
    std::uint64_t state = 0x9e3779b97f4a7c15ull;
    std::uint64_t next()
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
};

void run(const std::vector<std::uint8_t>& input) { LLVMFuzzerTestOneInput(input.data(), input.size()); }

}  // namespace

int main(int argc, char** argv)
{
    std::vector<std::vector<std::uint8_t>> corpus;
    if (argc > 1) {
        for (int i = 1; i < argc; ++i) {
            run(read_file(argv[i]));
        }
        return 0;
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(COVET_FUZZ_CORPUS_DIR, ec)) {
        if (entry.is_regular_file()) {
            corpus.push_back(read_file(entry.path()));
        }
    }
    if (corpus.empty()) {
        corpus.emplace_back();
    }
    for (const auto& input : corpus) {
        run(input);
    }
    xorshift rng;
    constexpr int mutations = 5000;
    for (int i = 0; i < mutations; ++i) {
        std::vector<std::uint8_t> input = corpus[rng.below(corpus.size())];
        const int edits = 1 + static_cast<int>(rng.below(4));
        for (int e = 0; e < edits; ++e) {
            switch (rng.below(5)) {
            case 0:  // flip a bit
                if (!input.empty()) {
                    input[rng.below(input.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
                }
                break;
            case 1:  // truncate
                input.resize(rng.below(input.size() + 1));
                break;
            case 2:  // insert a random byte
                input.insert(input.begin() + static_cast<std::ptrdiff_t>(rng.below(input.size() + 1)),
                             static_cast<std::uint8_t>(rng.next()));
                break;
            case 3: {  // duplicate a slice
                if (!input.empty()) {
                    std::size_t from = rng.below(input.size());
                    std::size_t len = 1 + rng.below(input.size() - from);
                    std::vector<std::uint8_t> slice(input.begin() + static_cast<std::ptrdiff_t>(from),
                                                    input.begin() + static_cast<std::ptrdiff_t>(from + len));
                    input.insert(input.begin() + static_cast<std::ptrdiff_t>(rng.below(input.size() + 1)),
                                 slice.begin(), slice.end());
                }
                break;
            }
            default:  // overwrite with an interesting byte
                if (!input.empty()) {
                    static constexpr std::uint8_t interesting[] = {0, '\r', '\n', ' ', ':', '"', '\\',
                                                                   '{', '}', '[', ']', '/', '%', 0xff, 0x80};
                    input[rng.below(input.size())] = interesting[rng.below(sizeof(interesting))];
                }
                break;
            }
        }
        run(input);
    }
    std::printf("replayed %zu corpus inputs and %d mutations\n", corpus.size(), mutations);
    return 0;
}
