# Source me: the environment every project command runs Airflow with.
# AIRFLOW_HOME defaults to .local/airflow-home inside the project (git-ignored).
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export STELLAR_LINEAGE_ROOT="$_root"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_root/.local/airflow-home}"
export AIRFLOW__CORE__DAGS_FOLDER="$_root/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$_root/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://${AIRFLOW__API__HOST}:${AIRFLOW__API__PORT}/execution/}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__LAZY_LOAD_PLUGINS=False
# Airflow's audit log stores trigger bodies (even refused ones) masking only sensitive key names: the
# enqueue DAG's `accounts` must be one, so a pasted secret seed is not kept there (README "Secrets").
case ",${AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES:-}," in
  *,accounts,*) ;;
  *) export AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES="${AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES:+$AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES,}accounts" ;;
esac
# Airflow adds only plugins/ to sys.path; `include` is imported from the project root (as on Astro).
export PYTHONPATH="$_root${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$_root/.venv/bin:$PATH"
if [ -z "${AIRFLOW__API_AUTH__JWT_SECRET:-}" ]; then
  mkdir -p "$AIRFLOW_HOME"
  [ -f "$AIRFLOW_HOME/.jwt_secret" ] || python3 -c 'import secrets; print(secrets.token_hex(32))' > "$AIRFLOW_HOME/.jwt_secret"
  export AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$AIRFLOW_HOME/.jwt_secret")"
fi
unset _root
