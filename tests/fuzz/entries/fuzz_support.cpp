#include "fuzz_entries.h"

#include <filesystem>
#include <system_error>

#include <unistd.h>

namespace uhdlens::fuzz {

const std::string &scratchDir()
{
    static const std::string dir = [] {
        const char *tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/uhdlens-fuzz-XXXXXX";
        if (!::mkdtemp(templ.data())) {
            std::perror("uhdlens fuzz: mkdtemp");
            std::abort();
        }
        static struct Cleanup
        {
            std::string path;
            ~Cleanup()
            {
                std::error_code ec;
                std::filesystem::remove_all(path, ec);
            }
        } cleanup{templ};
        return templ;
    }();
    return dir;
}

void writeFile(const std::string &path, const void *data, size_t size)
{
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
        std::perror(("uhdlens fuzz: cannot write " + path).c_str());
        std::abort();
    }
}

} // namespace uhdlens::fuzz
