#include "flopline/documents/pdf.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace flopline::documents {
namespace {

namespace fs = std::filesystem;

tl::unexpected<core::Error> Unavailable(std::string message) {
  return core::MakeError(core::Code::kUnavailable, std::move(message), "--pdf");
}

bool StartsWithPdf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[5] = {};
  in.read(magic, 5);
  return in.gcount() == 5 && std::string_view(magic, 5) == "%PDF-";
}

class ChromiumRenderer : public PdfRenderer {
 public:
  ChromiumRenderer(std::string binary, std::chrono::seconds timeout) : binary_(std::move(binary)), timeout_(timeout) {}

  core::Result<void> Render(const std::string& html_path, const std::string& pdf_path) override {
    std::error_code ec;
    fs::path html = fs::absolute(html_path, ec);
    if (ec || !fs::is_regular_file(html, ec)) return Unavailable(fmt::format("no HTML file '{}' to print", html_path));
    fs::path pdf = fs::absolute(pdf_path, ec);
    std::string profile_template = (fs::temp_directory_path() / "flopline-chromium-XXXXXX").string();
    std::vector<char> buffer(profile_template.begin(), profile_template.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) return Unavailable("cannot create a temporary Chromium profile");
    fs::path profile(buffer.data());
    fs::path partial = pdf;
    partial += ".partial";
    fs::remove(partial, ec);

    std::vector<std::string> args = {binary_,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--no-first-run",
                                     "--disable-extensions",
                                     "--no-pdf-header-footer",
                                     "--user-data-dir=" + profile.string(),
                                     "--print-to-pdf=" + partial.string(),
                                     "file://" + html.string()};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
      fs::remove_all(profile, ec);
      return Unavailable("cannot start Chromium: fork failed");
    }
    if (pid == 0) {
      setpgid(0, 0);  // its own group, so a timeout kills its helpers too
      int devnull = open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
      }
      execvp(argv[0], argv.data());
      _exit(127);
    }
    setpgid(pid, pid);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    bool exited = false;
    while (!exited) {
      pid_t got = waitpid(pid, &status, WNOHANG);
      if (got == pid) {
        exited = true;
      } else if (got < 0 && errno != EINTR) {
        break;
      } else if (std::chrono::steady_clock::now() > deadline) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        fs::remove_all(profile, ec);
        fs::remove(partial, ec);
        return Unavailable(fmt::format("Chromium did not print the PDF within {} s", timeout_.count()));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    kill(-pid, SIGKILL);  // helpers left behind by the browser, if any
    fs::remove_all(profile, ec);
    if (!exited || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !StartsWithPdf(partial.string())) {
      fs::remove(partial, ec);
      if (exited && WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        return Unavailable(fmt::format("cannot run '{}': install Debian's chromium (scripts/install-deps.sh)", binary_));
      }
      return Unavailable(fmt::format("'{}' did not print a PDF (exit status {})", binary_,
                                     exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    }
    fs::rename(partial, pdf, ec);
    if (ec) return Unavailable(fmt::format("cannot write '{}': {}", pdf_path, ec.message()));
    return core::Ok();
  }

 private:
  std::string binary_;
  std::chrono::seconds timeout_;
};

}  // namespace

std::unique_ptr<PdfRenderer> MakeChromiumRenderer(std::string binary, std::chrono::seconds timeout) {
  return std::make_unique<ChromiumRenderer>(std::move(binary), timeout);
}

}  // namespace flopline::documents
