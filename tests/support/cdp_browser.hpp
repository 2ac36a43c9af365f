// Headless Chromium driven over the DevTools protocol (--remote-debugging-pipe): navigate,
// run JavaScript in the page, wait for a condition, take a screenshot. Enough to let a test
// use a page the way a person does (type, submit, click) without any extra dependency.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/json/value.hpp>

namespace medgate::testing {

class CdpBrowser {
 public:
  CdpBrowser();  // starts Chromium with a fresh profile; throws when it cannot
  ~CdpBrowser();
  CdpBrowser(const CdpBrowser&) = delete;
  CdpBrowser& operator=(const CdpBrowser&) = delete;

  [[nodiscard]] static bool available();

  // Loads `url` and waits for document.readyState == "complete".
  void navigate(const std::string& url);
  // Evaluates `expression` in the page (promises awaited); returns its value.
  boost::json::value eval(const std::string& expression);
  // Polls `expression` until it is true (also across page loads); false on timeout.
  bool wait_for(const std::string& expression,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Saves a PNG of the viewport, or with `full_page` of the whole page.
  void screenshot(const std::string& png_path, bool full_page = false);
  // Lays the page out as a device `width` CSS pixels wide (a phone: 390) would, `height`
  // tall; applies to what is loaded next and to the page now shown.
  void set_viewport(int width, int height, bool mobile);

 private:
  boost::json::value call(const std::string& method, boost::json::object params,
                          bool in_page = true);
  void send(const boost::json::object& message);
  boost::json::value receive_result(int64_t id);

  int pid_ = -1;
  int to_browser_ = -1;    // our end of the pipe Chromium reads (its fd 3)
  int from_browser_ = -1;  // our end of the pipe Chromium writes (its fd 4)
  int64_t next_id_ = 1;
  std::string session_;
  std::string pending_;  // bytes read past the last message
  std::string profile_dir_;
};

}  // namespace medgate::testing
