#include "file_map.h"

#include "uhdlens/errors.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhdlens {

FileMap::~FileMap()
{
    if (data && size)
        ::munmap(const_cast<uint8_t *>(data), size);
}

std::shared_ptr<FileMap> mapWholeFile(const std::string &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT)
            throw Error(ErrorCode::FileNotFound, "checkpoint file not found: '" + path + "'", path);
        throw Error(ErrorCode::FileUnreadable, "cannot open '" + path + "': " + std::strerror(err), path);
    }
    struct stat st
    {
    };
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(ErrorCode::NotAFile, "'" + path + "' is not a regular file", path);
    }
    auto m = std::make_shared<FileMap>();
    m->size = static_cast<uint64_t>(st.st_size);
    if (m->size == 0) {
        ::close(fd);
        return m;
    }
    void *p = ::mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd); // the mapping keeps its own reference to the file
    if (p == MAP_FAILED)
        throw Error(ErrorCode::FileUnreadable, "cannot memory-map '" + path + "': " + std::strerror(err), path);
    m->data = static_cast<const uint8_t *>(p);
    return m;
}

} // namespace uhdlens
