# Astro Runtime for Airflow 3 (pin the release that ships Airflow 3.3.x; see README "Production deployment").
ARG ASTRO_RUNTIME=3.1-1
FROM astrocrpublic.azurecr.io/runtime:${ASTRO_RUNTIME}
# Airflow's audit log stores trigger bodies, even refused ones, masking only sensitive key names: the
# enqueue DAG's `accounts` must be one (README "Secrets and hostile input"). Append, do not replace.
ENV AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES=accounts
