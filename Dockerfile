# Astro Runtime 3.3-x ships Airflow 3.3.x; the lock (requirements.txt, constraints.txt) is Airflow 3.3.2
# on Python 3.11. How the tag was chosen and checked: README "Production deployment".
ARG ASTRO_RUNTIME=3.3-8-python-3.11
FROM astrocrpublic.azurecr.io/runtime:${ASTRO_RUNTIME}
# Airflow's audit log stores trigger bodies, even refused ones, masking only sensitive key names: the
# enqueue DAG's `accounts` must be one (README "Secrets and hostile input"). Append, do not replace.
ENV AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES=accounts

# The build fails when the image's Airflow or Python is not the lock's: the runtime's ONBUILD step
# installs requirements.txt, and a different Airflow there would be replaced instead of used.
RUN python -c "import sys, airflow; v = airflow.__version__; py = sys.version_info[:2]; \
sys.exit(0 if v == '3.3.2' and py == (3, 11) else f'image has Airflow {v} on Python {py}; the lock wants 3.3.2 on (3, 11): pick another ASTRO_RUNTIME')"
