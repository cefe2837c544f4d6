-- One database per service (docs/adding-a-service.md), created by the postgres image on its
-- first start (empty data volume) as POSTGRES_USER, who owns them. Migrations come later from
-- the one-shot `migrate` service. k8s/base/postgres/init-databases.sql holds the same list;
-- scripts/deploy-check.sh fails when either differs from the services that have a schema.
CREATE DATABASE shoplab_user;
CREATE DATABASE shoplab_catalog;
CREATE DATABASE shoplab_cart;
CREATE DATABASE shoplab_payment;
CREATE DATABASE shoplab_order;
CREATE DATABASE shoplab_history;
CREATE DATABASE shoplab_shipping;
