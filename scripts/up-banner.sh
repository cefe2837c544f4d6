#!/usr/bin/env bash
# What `make up` leaves running, and where to look.
cat <<'TXT'

ShopLab local stack is up (infrastructure only: the shop's services are not built yet).
  PostgreSQL   postgres://shoplab:shoplab@127.0.0.1:5432/shoplab_<service>
  Kafka        127.0.0.1:9092
  Jaeger       http://127.0.0.1:16686   (OTLP http://127.0.0.1:4318)
  Prometheus   http://127.0.0.1:9090
Logs: make logs   State: make status   Stop: make down
TXT
