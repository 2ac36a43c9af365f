#include "apps/medgate-drill/load_generator.hpp"

#include <random>

#include <boost/json.hpp>

#include "clients/curl_client.hpp"
#include "clients/url_query.hpp"

namespace medgate::drill {
namespace json = boost::json;
using clients::CurlRequest;
using clients::CurlResponse;

struct LoadGenerator::Worker {
  int id = 0;
  std::string rut;
  std::string cookie;  // the portal session (name=value)
  std::string csrf;
  std::mt19937 rng;
  uint64_t next_key = 0;
  std::vector<Sample> samples;
  std::vector<WriteRecord> writes;
};

namespace {

// The value of <meta name="csrf-token" content="...">.
std::string csrf_from_page(const std::string& html) {
  const std::string marker = "name=\"csrf-token\" content=\"";
  const size_t at = html.find(marker);
  if (at == std::string::npos)
    return {};
  const size_t from = at + marker.size();
  return html.substr(from, html.find('"', from) - from);
}

bool is_unknown(const CurlResponse& r) {
  return r.status == 0 || (r.status == 504 && r.body.find("outcome_unknown") != std::string::npos);
}

}  // namespace

LoadGenerator::LoadGenerator(StackLayout layout, LoadOptions options, Clock::time_point origin)
    : layout_(std::move(layout)), opt_(std::move(options)), origin_(origin) {}

LoadGenerator::~LoadGenerator() {
  stop();
}

Ms LoadGenerator::now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - origin_).count();
}

std::string LoadGenerator::start() {
  const std::string password = layout_.credential("MEDGATE_DEMO_PATIENT_PASSWORD");
  for (int i = 0; i < opt_.workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->id = i + 1;
    w->rut = opt_.patients[static_cast<size_t>(i) % opt_.patients.size()];
    w->rng.seed(static_cast<uint32_t>(i * 7919 + 17));
    CurlRequest login{.method = "POST",
                      .url = layout_.portal_url + "/login",
                      .body = "rut=" + clients::percent_encode(w->rut) +
                              "&password=" + clients::percent_encode(password)};
    login.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Origin", layout_.portal_url}};
    const auto res = clients::curl_perform(login);
    const std::string set_cookie = res.header("set-cookie");
    if (res.status != 303 || set_cookie.empty())
      return "the portal refused the drill's sign-in as " + w->rut + " (status " +
             std::to_string(res.status) + (res.error.empty() ? "" : ", " + res.error) + ")";
    w->cookie = set_cookie.substr(0, set_cookie.find(';'));
    CurlRequest page{.url = layout_.portal_url + "/patient"};
    page.headers = {{"Cookie", w->cookie}};
    w->csrf = csrf_from_page(clients::curl_perform(page).body);
    if (w->csrf.empty())
      return "the portal's page carried no CSRF token";
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_)
    threads_.emplace_back([this, wp = w.get()] { run(*wp); });
  return {};
}

void LoadGenerator::stop() {
  stopping_ = true;
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

void LoadGenerator::run(Worker& w) {
  static const char* const kOps[] = {"page", "history", "payments", "book", "pay", "consult"};
  std::uniform_int_distribution<int> pick(0, 5);
  const auto period = std::chrono::duration<double>(1.0 / opt_.per_worker_rps);
  const auto deadline = Clock::now() + opt_.max_duration;
  auto next = Clock::now();
  while (!stopping_ && Clock::now() < deadline && requests_ < opt_.max_requests) {
    const std::string op = kOps[pick(w.rng)];
    if (op == "book" || op == "pay" || op == "consult") {
      write(w, op);
    } else {
      w.samples.push_back(read(w, op));
    }
    next += std::chrono::duration_cast<Clock::duration>(period);
    const auto t = Clock::now();
    if (next > t)
      std::this_thread::sleep_until(next);
    else
      next = t;  // behind (a slow answer): no burst to catch up
  }
}

Sample LoadGenerator::read(Worker& w, const std::string& op) {
  CurlRequest req;
  Sample s{.at = now(), .op = op};
  if (op == "page") {
    req.url = layout_.portal_url + "/patient";
    req.headers = {{"Cookie", w.cookie}};
    s.upstream = "page";
  } else {
    const bool history = op == "history";
    req.url = layout_.medgate_url + (history ? "/api/medical-history/" : "/api/payments/") + w.rut;
    req.headers = {{"Authorization", "Bearer " + layout_.credential("MEDGATE_STAFF_TOKEN")}};
    s.upstream = history ? "medical" : "administrative";
  }
  req.timeout = std::chrono::milliseconds(5000);
  const auto res = clients::curl_perform(req);
  s.latency_ms = static_cast<double>(res.elapsed.count()) / 1000.0;
  s.status = static_cast<int>(res.status);
  s.stale = res.header("x-medgate-stale") == "true";
  // A page whose data did not all come is a degraded answer: it says so, and it counts as a
  // failure here (data_banner="degraded").
  const bool degraded =
      op == "page" && res.body.find("data-banner=\"degraded\"") != std::string::npos;
  s.degraded = degraded;
  s.ok = res.status >= 200 && res.status < 300 && !degraded;
  ++requests_;
  failed_ += s.ok ? 0 : 1;
  return s;
}

void LoadGenerator::write(Worker& w, const std::string& op) {
  WriteRecord rec{
      .key = opt_.run_id + "-" + std::to_string(w.id) + "-" + std::to_string(++w.next_key),
      .op = op,
      .first_sent = now()};
  CurlRequest req{.method = "POST"};
  req.timeout = std::chrono::milliseconds(5000);
  req.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", rec.key}};
  if (op == "book") {
    rec.upstream = "portal";
    req.url = layout_.portal_url + "/api/appointments";
    req.headers.push_back({"Cookie", w.cookie});
    req.headers.push_back({"X-CSRF-Token", w.csrf});
    req.headers.push_back({"Origin", layout_.portal_url});
    req.body = json::serialize(json::object{
        {"specialty", "drill"}, {"starts_at", "2030-01-01 10:00"}, {"reason", rec.key}});
  } else {
    // Consultations are written by the doctor the token names (Dra. Soto's token): the body
    // names no doctor.
    req.headers.push_back(
        {"Authorization", "Bearer " + layout_.credential(op == "pay" ? "MEDGATE_STAFF_TOKEN"
                                                                     : "MEDGATE_DOCTOR_TOKEN")});
    if (op == "pay") {
      rec.upstream = "administrative";
      req.url = layout_.medgate_url + "/api/admin/payments";
      req.body =
          json::serialize(json::object{{"rut", w.rut}, {"amount", 1000}, {"concept", rec.key}});
    } else {
      rec.upstream = "medical";
      req.url = layout_.medgate_url + "/api/medical/consultations";
      req.body = json::serialize(json::object{{"patient_rut", w.rut},
                                              {"date", "2026-11-29"},
                                              {"diagnosis", rec.key},
                                              {"treatment", "drill"}});
    }
  }
  // The same key until an answer settles it: a 2xx (done) or a 4xx (refused, nothing done).
  // Anything else — no answer, 504 outcome_unknown, 503 — is tried again.
  const auto give_up = Clock::now() + opt_.write_resolve_for;
  for (;;) {
    ++rec.tries;
    Sample s{.at = now(), .op = op, .upstream = rec.upstream};
    const auto res = clients::curl_perform(req);
    s.latency_ms = static_cast<double>(res.elapsed.count()) / 1000.0;
    s.status = static_cast<int>(res.status);
    s.ok = res.status >= 200 && res.status < 300;
    s.unknown = is_unknown(res);
    rec.unknown_seen = rec.unknown_seen || s.unknown;
    rec.final_status = s.status;
    ++requests_;
    failed_ += s.ok ? 0 : 1;
    w.samples.push_back(s);
    if (s.ok) {
      rec.acked_at = now();
      ++acked_;
      break;
    }
    if ((res.status >= 400 && res.status < 500 && res.status != 429 && res.status != 408) ||
        Clock::now() >= give_up)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ++writes_;
  w.writes.push_back(std::move(rec));
}

LoadGenerator::Progress LoadGenerator::progress() const {
  return {requests_.load(), failed_.load(), writes_.load(), acked_.load()};
}

std::vector<Sample> LoadGenerator::samples() const {
  std::vector<Sample> out;
  for (const auto& w : workers_)
    out.insert(out.end(), w->samples.begin(), w->samples.end());
  return out;
}

std::vector<WriteRecord> LoadGenerator::writes() const {
  std::vector<WriteRecord> out;
  for (const auto& w : workers_)
    out.insert(out.end(), w->writes.begin(), w->writes.end());
  return out;
}

}  // namespace medgate::drill
