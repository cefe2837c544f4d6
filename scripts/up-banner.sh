#!/usr/bin/env bash
# What `make up` leaves running, where to look, and a walk-through to paste.
state=${SHOPLAB_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/shoplab}
cat <<TXT

ShopLab is running on this machine.
  Web shop        http://127.0.0.1:8088             Control room  http://127.0.0.1:8088/control
  Shop (gateway)  http://127.0.0.1:8080/api/v1     Swagger UI  http://127.0.0.1:8080/docs
  Jaeger          http://127.0.0.1:16686            Prometheus  http://127.0.0.1:9090
  Services        user :8081  catalog :8082  cart :8083  payment :8084  order :8085  (gRPC on 90xx)  web :8088
  Admin listeners gateway :7080  user :7081 … order :7085 … card-network :7090 (/admin/…: 404 on 80xx)
  Admin token     ADMIN_TOKEN in $state/secrets.env
Logs: make logs C=<service|kafka|…>   State: make status   Stop: make down

Try it (paste into a shell):
  API=http://127.0.0.1:8080/api/v1
  TOKEN=\$(curl -s -X POST \$API/auth/register -H 'content-type: application/json' \\
    -d "{\"email\":\"you-\$RANDOM@example.com\",\"password\":\"a long password\",\"name\":\"You\"}" | sed -E 's/.*"token":"([^"]+)".*/\1/')
  curl -s "\$API/products?limit=3"; echo
  PRODUCT=\$(curl -s "\$API/products?limit=1" | sed -E 's/.*"id":"([^"]+)".*/\1/')
  curl -s -X POST \$API/cart/items -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
    -d "{\"productId\":\"\$PRODUCT\",\"quantity\":1}"; echo
  curl -s -X POST \$API/checkout -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
    -H "idempotency-key: key-\$(date +%s%N)" \\
    -d '{"card":{"number":"4242 4242 4242 4242","expMonth":12,"expYear":2035,"cvc":"123"}}'; echo
  sleep 2; curl -s \$API/orders -H "authorization: Bearer \$TOKEN"; echo   # the saga has confirmed it by now
TXT
