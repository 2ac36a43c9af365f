// std::visit over a set of lambdas: Overloaded{[](const A&) {...}, [](const B&) {...}}.
#pragma once

namespace medgate::dbmon {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace medgate::dbmon
