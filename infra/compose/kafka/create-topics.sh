#!/bin/sh
# Creates each topic of SHOPLAB_TOPICS and its dead-letter topic `<topic>.dlq`, if missing.
# Run by the one-shot `kafka-init` (docker-compose.yml) in the apache/kafka image; k8s runs the
# same commands in the kafka-topics Job. Waits for the broker first (up to ~2 minutes).
#   BOOTSTRAP_SERVER  kafka:9092        SHOPLAB_TOPICS  space-separated `<service>.events` names
#   TOPIC_PARTITIONS  3 (as the local broker's num.partitions)
set -eu
bootstrap=${BOOTSTRAP_SERVER:-kafka:9092}
partitions=${TOPIC_PARTITIONS:-3}
topics_cmd=/opt/kafka/bin/kafka-topics.sh

i=0
until "$topics_cmd" --bootstrap-server "$bootstrap" --list >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "kafka-init: broker $bootstrap not reachable" >&2
    exit 1
  fi
  sleep 2
done

for topic in ${SHOPLAB_TOPICS:?set SHOPLAB_TOPICS}; do
  for t in "$topic" "$topic.dlq"; do
    "$topics_cmd" --bootstrap-server "$bootstrap" --create --if-not-exists \
      --topic "$t" --partitions "$partitions" --replication-factor 1
  done
done
echo "kafka-init: topics ready:"
"$topics_cmd" --bootstrap-server "$bootstrap" --list
