# Astro Runtime 3.3-8 ships Airflow 3.3.2, the lock's version, with Python 3.12, 3.13 and 3.14 (3.14 the
# default); Runtime 3.3 has no Python 3.11 image. Source: Astronomer's runtime catalog as the Astro CLI reads
# it (astronomer/astro-cli, runtimeversions: "3.3-8": airflowVersion 3.3.2, pythonVersions 3.12-3.14);
# public Astro projects pin 3.3-2 with Airflow 3.3.0 and 3.3-6/3.3-7 with 3.3.1. Python 3.12: the closest
# to the 3.11 development venv, and the lock installs on it (README "Production deployment").
ARG ASTRO_RUNTIME=3.3-8-python-3.12
FROM astrocrpublic.azurecr.io/runtime:${ASTRO_RUNTIME}
# Airflow's audit log stores trigger bodies, even refused ones, masking only sensitive key names: the
# enqueue DAG's `accounts` must be one (README "Secrets and hostile input"). Append, do not replace.
ENV AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES=accounts

# The build fails when the image's Airflow is not the lock's or its Python not the tag's flavour: the
# runtime's ONBUILD step installs requirements.txt, and a different Airflow there would be replaced.
RUN python -c "import sys, airflow; v = airflow.__version__; py = sys.version_info[:2]; \
sys.exit(0 if v == '3.3.2' and py == (3, 12) else f'image has Airflow {v} on Python {py}; the lock wants 3.3.2 on (3, 12): pick another ASTRO_RUNTIME')"
