#!/usr/bin/env bash
# kafka-run-class.sh CLASS [ARGS...]: a Java class of /opt/kafka/libs, with the JVM options the
# official scripts read (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS, KAFKA_LOG4J_OPTS).
set -euo pipefail
class=$1
shift
# shellcheck disable=SC2086 # each *_OPTS is a list of words
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -Djava.awt.headless=true} \
  ${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties} ${KAFKA_OPTS:-} \
  -cp '/opt/kafka/libs/*' "$class" "$@"
