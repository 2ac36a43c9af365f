#include "tests/support/cdp_browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/support/process.hpp"

namespace medgate::testing {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kChromium = "/usr/lib/chromium/chromium";

std::string base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+')
      return 62;
    if (c == '/')
      return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0)
      continue;  // padding, newlines
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace

bool CdpBrowser::available() {
  return fs::exists(kChromium);
}

CdpBrowser::CdpBrowser() : profile_dir_(make_temp_dir("cdp-")) {
  int in[2];   // we write, Chromium reads on fd 3
  int out[2];  // Chromium writes on fd 4, we read
  if (::pipe(in) != 0 || ::pipe(out) != 0)
    throw std::runtime_error("pipe failed");
  const std::vector<std::string> args = {kChromium,
                                         "--headless",
                                         "--no-sandbox",
                                         "--disable-gpu",
                                         "--disable-background-networking",
                                         "--disable-component-update",
                                         "--disable-sync",
                                         "--no-first-run",
                                         "--remote-debugging-pipe",
                                         "--window-size=1200,1600",
                                         "--user-data-dir=" + profile_dir_ + "/profile",
                                         "about:blank"};
  const std::string xdg_config = "XDG_CONFIG_HOME=" + profile_dir_ + "/xdg";
  const std::string xdg_cache = "XDG_CACHE_HOME=" + profile_dir_ + "/xdg/cache";
  const std::string log = profile_dir_ + "/chromium.log";
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(in[0], 3);
    ::dup2(out[1], 4);
    for (int fd : {in[0], in[1], out[0], out[1]})
      if (fd > 4)
        ::close(fd);
    const int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (logfd >= 0) {
      ::dup2(logfd, 1);
      ::dup2(logfd, 2);
      ::close(logfd);
    }
    ::putenv(const_cast<char*>(xdg_config.c_str()));
    ::putenv(const_cast<char*>(xdg_cache.c_str()));
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kChromium, argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_browser_ = in[1];
  from_browser_ = out[0];
  const json::value target = call("Target.createTarget", {{"url", "about:blank"}}, false);
  const json::value attached =
      call("Target.attachToTarget",
           {{"targetId", target.at("targetId").as_string()}, {"flatten", true}}, false);
  session_ = std::string(attached.at("sessionId").as_string());
  (void)call("Page.enable", {});
  (void)call("Runtime.enable", {});
}

CdpBrowser::~CdpBrowser() {
  if (to_browser_ >= 0)
    ::close(to_browser_);
  if (from_browser_ >= 0)
    ::close(from_browser_);
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ignored;
  fs::remove_all(profile_dir_, ignored);
}

void CdpBrowser::send(const json::object& message) {
  std::string text = json::serialize(message);
  text.push_back('\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(to_browser_, text.data() + done, text.size() - done);
    if (n <= 0)
      throw std::runtime_error("chromium closed its DevTools pipe");
    done += static_cast<size_t>(n);
  }
}

json::value CdpBrowser::receive_result(int64_t id) {
  const auto until = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    const size_t end = pending_.find('\0');
    if (end != std::string::npos) {
      const std::string message = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      const json::value v = json::parse(message);
      const auto& o = v.as_object();
      if (const auto* mid = o.if_contains("id"); mid && mid->to_number<int64_t>() == id) {
        if (const auto* err = o.if_contains("error"))
          throw std::runtime_error("DevTools error: " + json::serialize(*err));
        return o.at("result");
      }
      continue;  // an event, or another call's answer
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw std::runtime_error("no DevTools answer within 30 s");
    pollfd p{from_browser_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[65536];
    const ssize_t n = ::read(from_browser_, buf, sizeof buf);
    if (n <= 0)
      throw std::runtime_error("chromium exited (see its log)");
    pending_.append(buf, static_cast<size_t>(n));
  }
}

json::value CdpBrowser::call(const std::string& method, json::object params, bool in_page) {
  const int64_t id = next_id_++;
  json::object m{{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (in_page)
    m["sessionId"] = session_;
  send(m);
  return receive_result(id);
}

void CdpBrowser::navigate(const std::string& url) {
  (void)call("Page.navigate", {{"url", url}});
  if (!wait_for("document.readyState === 'complete' && location.href !== 'about:blank'"))
    throw std::runtime_error("page did not load: " + url);
}

json::value CdpBrowser::eval(const std::string& expression) {
  const json::value r =
      call("Runtime.evaluate",
           {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}});
  if (const auto* ex = r.as_object().if_contains("exceptionDetails"))
    throw std::runtime_error("page script failed: " + json::serialize(*ex));
  const auto& result = r.at("result").as_object();
  const auto* value = result.if_contains("value");
  return value ? *value : json::value(nullptr);
}

bool CdpBrowser::wait_for(const std::string& expression, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    try {
      const json::value v =
          eval("(() => { try { return !!(" + expression + "); } catch (e) { return false; } })()");
      if (v.is_bool() && v.as_bool())
        return true;
    } catch (const std::runtime_error&) {
      // The page is between loads: its context is gone for a moment.
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

void CdpBrowser::screenshot(const std::string& png_path, bool full_page) {
  const json::value r =
      call("Page.captureScreenshot", {{"format", "png"}, {"captureBeyondViewport", full_page}});
  std::ofstream(png_path, std::ios::binary) << base64_decode(r.at("data").as_string());
}

void CdpBrowser::set_viewport(int width, int height, bool mobile) {
  (void)call("Emulation.setDeviceMetricsOverride",
             {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", mobile}});
}

}  // namespace medgate::testing
