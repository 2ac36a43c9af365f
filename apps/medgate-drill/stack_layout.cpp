#include "apps/medgate-drill/stack_layout.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json.hpp>

#include "clients/curl_client.hpp"

namespace medgate::drill {

const ClusterLayout& StackLayout::cluster(const std::string& name) const {
  for (const auto& c : clusters)
    if (c.name == name)
      return c;
  throw std::runtime_error("unknown cluster '" + name + "' (medical, administrative, portal)");
}

std::string StackLayout::credential(const std::string& key) const {
  const auto it = credentials.find(key);
  return it == credentials.end() ? std::string() : it->second;
}

std::map<std::string, std::string> parse_env_file(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0)
      continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    out[line.substr(0, eq)] = value;
  }
  return out;
}

void follow_acting_monitors(StackLayout& layout) {
  for (auto& c : layout.clusters) {
    std::vector<std::string> acting;
    for (const auto& url : c.monitor_urls) {
      const auto r = clients::curl_perform(
          {.url = url + "/status", .timeout = std::chrono::milliseconds(1000)});
      if (r.status != 200)
        continue;
      boost::system::error_code ec;
      const auto v = boost::json::parse(r.body, ec);
      if (ec || !v.is_object())
        continue;
      const auto* a = v.as_object().if_contains("acting");
      if (a && a->is_bool() && a->as_bool())
        acting.push_back(url);
    }
    if (acting.size() == 1)
      c.monitor_url = acting.front();
  }
}

StackLayout local_stack_layout(const std::string& dir) {
  StackLayout s;
  s.stack_dir = dir;
  s.log_dir = dir + "/logs";
  std::ifstream in(dir + "/credentials.env");
  if (!in)
    throw std::runtime_error(dir +
                             "/credentials.env not found: is the local stack set up "
                             "(scripts/run)?");
  std::stringstream text;
  text << in.rdbuf();
  s.credentials = parse_env_file(text.str());
  s.clusters = {
      {.name = "medical",
       .monitor = "mariadb-monitor",
       .monitor_url = "http://127.0.0.1:8011",
       .monitor_urls = {"http://127.0.0.1:8011", "http://127.0.0.1:8021"},
       .driver = "mariadb",
       .nodes = {{"medical-db-primary", 3306}, {"medical-db-replica", 3316}},
       .database = "medical",
       .user = "medical_app",
       .password = s.credential("MEDICAL_DB_PASSWORD"),
       .table = "consultations",
       .key_column = "diagnosis"},
      {.name = "administrative",
       .monitor = "postgres-monitor",
       .monitor_url = "http://127.0.0.1:8012",
       .monitor_urls = {"http://127.0.0.1:8012", "http://127.0.0.1:8022"},
       .driver = "postgres",
       .nodes = {{"admin-db-primary", 5433}, {"admin-db-standby", 5434}},
       .database = "administrative",
       .user = "admin_app",
       .password = s.credential("ADMIN_DB_PASSWORD"),
       .table = "payments",
       .key_column = "concept"},
      {.name = "portal",
       .monitor = "mysql-monitor",
       .monitor_url = "http://127.0.0.1:8013",
       .monitor_urls = {"http://127.0.0.1:8013", "http://127.0.0.1:8023"},
       .driver = "mariadb",
       .nodes = {{"portal-db-primary", 3307}, {"portal-db-replica", 3308}},
       .database = "portal",
       .user = "portal_app",
       .password = s.credential("PORTAL_DB_PASSWORD"),
       .table = "appointments",
       .key_column = "reason"},
  };
  return s;
}

}  // namespace medgate::drill
