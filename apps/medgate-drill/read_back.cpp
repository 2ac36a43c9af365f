#include "apps/medgate-drill/read_back.hpp"

#include <boost/json.hpp>

#include "clients/curl_client.hpp"
#include "clients/db/mariadb_driver.hpp"
#include "clients/db/postgres_driver.hpp"

namespace medgate::drill {
namespace json = boost::json;

ReadBackResult read_back(const StackLayout& layout, const std::string& run_id) {
  ReadBackResult out;
  for (const auto& c : layout.clusters) {
    const auto res = clients::curl_perform({.url = c.monitor_url + "/primary"});
    uint16_t port = 0;
    boost::system::error_code ec;
    const auto v = json::parse(res.body, ec);
    try {
      if (!ec && res.status == 200)
        if (const auto* p = v.as_object().if_contains("primary"))
          port = static_cast<uint16_t>(p->as_object().at("port").to_number<int64_t>());
    } catch (const std::exception&) {
      port = 0;  // not the monitor's answer: said below
    }
    if (port == 0) {
      out.error += c.name + ": no primary to read back from; ";
      continue;
    }
    try {
      std::unique_ptr<db::DbDriver> driver;
      std::string sql;
      if (c.driver == "postgres") {
        driver = std::make_unique<db::PostgresDriver>();
        sql = "SELECT " + c.key_column + ", count(*) FROM " + c.table + " WHERE " + c.key_column +
              " LIKE $1 GROUP BY " + c.key_column;
      } else {
        driver = std::make_unique<db::MariadbDriver>();
        sql = "SELECT " + c.key_column + ", count(*) FROM " + c.table + " WHERE " + c.key_column +
              " LIKE ? GROUP BY " + c.key_column;
      }
      auto conn = driver->connect(
          {.port = port, .user = c.user, .password = c.password, .database = c.database},
          std::chrono::seconds(5));
      const auto rows = conn->execute(sql, {run_id + "-%"});
      for (const auto& row : rows.rows)
        if (row.size() == 2 && row[0] && row[1])
          out.rows.push_back({.key = *row[0], .copies = std::stoi(*row[1])});
    } catch (const std::exception& e) {
      out.error += c.name + ": " + e.what() + "; ";
    }
  }
  return out;
}

}  // namespace medgate::drill
