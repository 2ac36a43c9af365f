// Monitor events: what the monitor saw and did, one JSON line each. Drills and dashboards
// compute detection and recovery times from them, so every event carries both clocks.
#pragma once

#include <string>

#include <boost/json/object.hpp>

namespace medgate::dbmon {

struct Event {
  std::string type;  // check_failed, suspect, confirmed_down, promote_done, ...
  std::string node;  // the node it is about; may be empty
  boost::json::object fields;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(Event event) = 0;
};

}  // namespace medgate::dbmon
