# Astro Runtime for Airflow 3 (pin the release that ships Airflow 3.3.x; see README "Production deployment").
ARG ASTRO_RUNTIME=3.1-1
FROM astrocrpublic.azurecr.io/runtime:${ASTRO_RUNTIME}
