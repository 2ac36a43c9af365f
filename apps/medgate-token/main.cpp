// medgate-token: signs a bearer token (ES256 JWT) for staff and tools.
//   medgate-token --key FILE --kid KID --issuer ISS --audience AUD --subject ID
//                 --roles doctor,administrative [--ttl 8h]
// Prints the token on standard output. The key is an EC P-256 private key in PEM form; the
// verifiers hold its public half as <kid>.pub.pem in their key_dir.
#include <chrono>
#include <cstdio>
#include <string>

#include "auth/key_set.hpp"
#include "auth/token_issuer.hpp"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: medgate-token --key FILE --kid KID --issuer ISS --audience AUD "
               "--subject ID --roles ROLE[,ROLE...] [--ttl DURATION]\n"
               "  roles: patient, doctor, nurse, administrative, accountant, service\n"
               "  ttl:   e.g. 300s, 30m, 8h, 30d (default 8h, at most 90d)\n");
  return 2;
}

// "30d", "8h", "30m", "300s" or plain seconds; 0 when malformed.
long parse_ttl(const std::string& text) {
  if (text.empty())
    return 0;
  size_t used = 0;
  long n = 0;
  try {
    n = std::stol(text, &used);
  } catch (...) {
    return 0;
  }
  const std::string unit = text.substr(used);
  const long scale = unit.empty() || unit == "s" ? 1
                     : unit == "m"               ? 60
                     : unit == "h"               ? 3600
                     : unit == "d"               ? 86400
                                                 : 0;
  return n > 0 ? n * scale : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string key, kid, issuer, audience, subject, roles_text, ttl_text = "8h";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--key")
      key = v;
    else if (a == "--kid")
      kid = v;
    else if (a == "--issuer")
      issuer = v;
    else if (a == "--audience")
      audience = v;
    else if (a == "--subject")
      subject = v;
    else if (a == "--roles")
      roles_text = v;
    else if (a == "--ttl")
      ttl_text = v;
    else
      return usage();
  }
  if (argc % 2 == 0 || key.empty() || kid.empty() || issuer.empty() || audience.empty() ||
      subject.empty() || roles_text.empty())
    return usage();
  const long ttl = parse_ttl(ttl_text);
  if (ttl <= 0 || ttl > 90L * 86400) {
    std::fprintf(stderr, "medgate-token: --ttl must be between 1s and 90d\n");
    return 2;
  }
  medgate::auth::RoleSet roles;
  size_t start = 0;
  while (start <= roles_text.size()) {
    const size_t comma = roles_text.find(',', start);
    const std::string name = roles_text.substr(start, comma - start);
    const auto role = medgate::auth::parse_role(name);
    if (!role) {
      std::fprintf(stderr, "medgate-token: unknown role '%s'\n", name.c_str());
      return 2;
    }
    roles.add(*role);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  try {
    const medgate::auth::TokenIssuer signer({.key_id = kid,
                                             .private_pem = medgate::auth::read_key_file(key),
                                             .issuer = issuer,
                                             .audience = audience});
    std::printf(
        "%s\n",
        signer.issue(subject, roles, std::chrono::seconds(ttl), std::chrono::system_clock::now())
            .c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "medgate-token: %s\n", e.what());
    return 1;
  }
  return 0;
}
