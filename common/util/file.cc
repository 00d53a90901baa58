#include "common/util/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/util/check.h"

namespace prlm::util {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PRLM_REQUIRE(in, "cannot open '" << path << "': " << std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  PRLM_REQUIRE(!in.bad(), "error reading '" << path << "'");
  return ss.str();
}

std::vector<std::string> ReadNonEmptyLines(const std::string& path) {
  std::istringstream in(ReadFile(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

void WriteFileAtomic(const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    PRLM_REQUIRE(out, "cannot create '" << tmp << "': " << std::strerror(errno));
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    PRLM_REQUIRE(out, "error writing '" << tmp << "' (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    PRLM_THROW("cannot rename '" << tmp << "' to '" << path << "': " << std::strerror(err));
  }
}

std::string ReadPrivateFile(const std::string& path, const char* what) {
  struct stat st {};
  PRLM_REQUIRE(::stat(path.c_str(), &st) == 0, what << " " << path << ": " << std::strerror(errno));
  PRLM_REQUIRE(S_ISREG(st.st_mode), what << " " << path << " is not a regular file");
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    PRLM_THROW(what << " " << path << " has mode " << mode
                    << ": group or others may read it; make it private (chmod 600 " << path << ")");
  }
  return ReadFile(path);
}

void WriteNewPrivateFile(const std::string& path, std::string_view contents, const char* what) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  PRLM_REQUIRE(fd >= 0, "cannot create " << what << " " << path << ": " << std::strerror(errno)
                                         << (errno == EEXIST ? " (it is never overwritten)" : ""));
  const bool ok =
      ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) && ::fsync(fd) == 0;
  ::close(fd);
  PRLM_REQUIRE(ok, "cannot write " << what << " " << path);
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  PRLM_REQUIRE(fd >= 0, "cannot open '" << path << "': " << std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    PRLM_THROW("cannot stat '" << path << "'");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      PRLM_THROW("cannot mmap '" << path << "': " << std::strerror(errno));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

void CopyTokenizerFiles(const std::string& from_dir, const std::string& to_dir) {
  namespace fs = std::filesystem;
  if (fs::exists(to_dir) && fs::equivalent(fs::absolute(from_dir), fs::absolute(to_dir))) return;
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                           "merges.txt", "vocab.json", "generation_config.json", "chat_template.jinja"}) {
    const fs::path from = fs::path(from_dir) / name;
    if (fs::exists(from)) fs::copy_file(from, fs::path(to_dir) / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace prlm::util
