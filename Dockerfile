# medgate's images, one multi-stage file: a build stage with the Debian 12 -dev packages and
# the project's CMake `default` preset (the one ./scripts/test builds and tests, with -Werror),
# then one slim runtime stage per component, and the database nodes' images built from Debian's
# own packages (no image registry needed but Debian's mirror). docker-compose.yml builds each
# target; the build stage is shared, so the sources compile once.
#   docker build --target middleware -t medgate/middleware .
# Targets: middleware (medgate under medgate-launcher), medical-service, admin-service,
# patient-portal, db-monitor, tools (medgate-drill, medgate-token, medgate-audit, key set-up),
# mariadb-node, postgres-node.
# Works with the classic builder and BuildKit alike (no `# syntax=` line: it would pull).
#
# A network whose outbound TLS is re-signed by a local certificate authority: put that
# authority's PEM bundle at .extra-ca.pem in the checkout (ignored by git). Only the build
# stage reads it (npm); no runtime image contains it.

# ---- The database nodes: Debian's servers, started by the local stack's wrappers ----
# First in this file: the classic builder builds every stage before its target, and these
# need nothing of the build stage.
FROM debian:12-slim AS node-base
ENV DEBIAN_FRONTEND=noninteractive
# No service starts while packages install (there is no init in a build).
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && mkdir -p /etc/medgate /usr/local/lib/medgate
COPY deploy/compose/monitor-role /usr/local/lib/medgate/

FROM node-base AS mariadb-node
# The package's own data directory goes: a new volume copies what the image has there, and a
# node makes its own on its first start (deploy/images/mariadb-node).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* && find /var/lib/mysql -mindepth 1 -delete
COPY deploy/compose/mariadb.cnf deploy/images/mariadb-node.cnf /etc/medgate/
COPY scripts/lib/mariadb-node-start deploy/images/mariadb-node deploy/compose/mysql-init.sh \
     deploy/compose/db-privileges /usr/local/lib/medgate/
VOLUME /var/lib/mysql
EXPOSE 3306
# Over the unix socket as root (unix_socket authentication); the first start's temporary
# server listens on another socket, so a node is healthy only once it really serves.
HEALTHCHECK --interval=2s --timeout=2s --start-period=60s --retries=30 \
  CMD mariadb-admin --socket=/run/mysqld/mysqld.sock ping >/dev/null || exit 1
ENTRYPOINT ["/usr/local/lib/medgate/mariadb-node"]

FROM node-base AS postgres-node
RUN printf 'create_main_cluster = false\n' >/tmp/createcluster.conf \
 && mkdir -p /etc/postgresql-common && mv /tmp/createcluster.conf /etc/postgresql-common/createcluster.conf \
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/lib/pg-node-start deploy/images/postgres-node \
     deploy/compose/postgres/10-medgate-init.sh deploy/compose/postgres/monitor-role.sql \
     /usr/local/lib/medgate/
ENV PGDATA=/var/lib/postgresql/data/pgdata
VOLUME /var/lib/postgresql/data
# A fast shutdown: SIGTERM's smart one waits for every session to end, so `docker stop` would
# leave a primary serving its pooled sessions until the kill 10 s later.
STOPSIGNAL SIGINT
EXPOSE 5432
HEALTHCHECK --interval=2s --timeout=2s --start-period=60s --retries=30 \
  CMD /usr/lib/postgresql/15/bin/pg_isready -q -h 127.0.0.1 -U postgres || exit 1
ENTRYPOINT ["/usr/local/lib/medgate/postgres-node"]

# ---- the monitors' coordination store: Debian's etcd 3.4 ----
FROM node-base AS etcd-node
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends etcd-server etcd-client >/dev/null \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/etcd-data && chown etcd:etcd /var/lib/etcd-data
USER etcd
VOLUME /var/lib/etcd-data
EXPOSE 2379 2380
HEALTHCHECK --interval=2s --timeout=2s --start-period=30s --retries=15 \
  CMD ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 endpoint health >/dev/null 2>&1 || exit 1
# The member's name and URLs come from the command (docker-compose.yml; docs/deploy.md for
# three members on three hosts).
ENTRYPOINT ["/usr/bin/etcd", "--data-dir", "/var/lib/etcd-data"]

# ---- medgate's programs ----
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# The package list lives in one place: scripts/lib/common.sh (MEDGATE_BUILD_PACKAGES).
COPY scripts/lib/common.sh scripts/lib/common.sh
RUN apt-get update -qq \
 && bash -c '. scripts/lib/common.sh && apt-get install -y -qq --no-install-recommends \
      "${MEDGATE_BUILD_PACKAGES[@]}" npm ca-certificates >/dev/null' \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN if [ -s .extra-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/src/.extra-ca.pem; fi \
 && bash -c '. scripts/lib/common.sh && ensure_web_assets' \
 && cmake --preset default -DMEDGATE_BUILD_TESTS=OFF -DMEDGATE_BUILD_BENCH=OFF >/dev/null \
 && cmake --build --preset default --target medgate medgate-launcher medical-service \
      admin-service patient-portal db-monitor medgate-drill medgate-token medgate-audit \
 && mkdir -p /out/bin \
 && find build/default/apps -maxdepth 2 -type f -executable -not -path '*/CMakeFiles/*' \
      -not -name test-upstream -exec cp {} /out/bin/ \; \
 && strip /out/bin/*

FROM debian:12-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# The shared libraries the binaries link (tests/deploy/check-deploy compares this list with
# the binaries' NEEDED entries), and curl for HEALTHCHECK.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      libboost-json1.81.0 libcurl4 libfmt9 libjwt0 libmariadb3 libpq5 \
      libprometheus-cpp-core1.0 libsodium23 libspdlog1.10 libssl3 libyaml-cpp0.7 \
      curl ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/medgate --shell /usr/sbin/nologin medgate \
 && mkdir -p /var/lib/medgate/secrets/public-keys /var/lib/medgate/logs /var/lib/medgate/drills \
      /var/lib/medgate/mariadb-monitor /var/lib/medgate/postgres-monitor /var/lib/medgate/mysql-monitor \
 && chown -R medgate:medgate /var/lib/medgate
COPY config/*.yaml /etc/medgate/
# Where the example configurations keep keys, logs and state (MEDGATE_STACK_DIR).
ENV MEDGATE_STACK_DIR=/var/lib/medgate LISTEN_ADDRESS=0.0.0.0
WORKDIR /var/lib/medgate

FROM runtime AS middleware
COPY --from=build /out/bin/medgate /out/bin/medgate-launcher /usr/local/bin/
USER medgate
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=2s --start-period=10s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${MEDGATE_PORT:-8000}/health/liveness" || exit 1
# The launcher holds the listening socket: `docker kill --signal HUP` restarts medgate on it
# with no refused connection (docs/operations.md).
CMD ["sh", "-c", "exec medgate-launcher --listen 0.0.0.0:${MEDGATE_PORT:-8000} -- medgate --config ${MEDGATE_CONFIG:-/etc/medgate/medgate.example.yaml}"]

FROM runtime AS medical-service
COPY --from=build /out/bin/medical-service /usr/local/bin/
USER medgate
EXPOSE 5001
HEALTHCHECK --interval=5s --timeout=2s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${MEDICAL_PORT:-5001}/health" || exit 1
CMD ["medical-service", "--config", "/etc/medgate/medical-service.example.yaml"]

FROM runtime AS admin-service
COPY --from=build /out/bin/admin-service /usr/local/bin/
USER medgate
EXPOSE 3012
HEALTHCHECK --interval=5s --timeout=2s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${ADMIN_PORT:-3012}/health" || exit 1
CMD ["admin-service", "--config", "/etc/medgate/admin-service.example.yaml"]

FROM runtime AS patient-portal
COPY --from=build /out/bin/patient-portal /usr/local/bin/
USER medgate
EXPOSE 3003
HEALTHCHECK --interval=5s --timeout=2s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORTAL_PORT:-3003}/health" || exit 1
CMD ["patient-portal", "--config", "/etc/medgate/patient-portal.example.yaml"]

FROM runtime AS db-monitor
COPY --from=build /out/bin/db-monitor /usr/local/bin/
USER medgate
HEALTHCHECK --interval=5s --timeout=2s --start-period=10s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${MONITOR_PORT:-8011}/health" || exit 1
# The configuration is chosen by the service (mariadb-, postgres-, mysql-monitor.example.yaml).
ENTRYPOINT ["db-monitor", "--config"]

FROM runtime AS tools
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends openssl >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/medgate-drill /out/bin/medgate-token /out/bin/medgate-audit /usr/local/bin/
COPY deploy/compose/make-secrets /usr/local/bin/
USER medgate
CMD ["medgate-drill", "--help"]

# ---- opt-in: the portal's pair on MySQL 8 (docker-compose.mysql8.yml) ----
# Last in this file, so no other target builds it: it needs the mysql:8.0 image from a
# registry. Untested here (no registry, and Debian 12 has no MySQL 8 server).
FROM mysql:8.0 AS mysql8-node
COPY deploy/compose/mysql-node-start deploy/compose/monitor-role deploy/compose/db-privileges \
     /usr/local/lib/medgate/
COPY deploy/compose/mysql-init.sh /docker-entrypoint-initdb.d/10-medgate-init.sh
COPY deploy/compose/mysql.cnf /etc/mysql/conf.d/medgate.cnf
HEALTHCHECK --interval=2s --timeout=2s --start-period=120s --retries=60 \
  CMD mysqladmin ping --protocol=socket -uroot -p"$MYSQL_ROOT_PASSWORD" --silent || exit 1
ENTRYPOINT ["/usr/local/lib/medgate/mysql-node-start"]
