#!/usr/bin/env bash
# The action's run step: `slascone-sync COMMAND [DIRECTORY] ARGS...`, with the exit code, the JSON
# plan and the number of changes as step outputs. It never fails itself, so that the comment step
# can still report a failed plan; the action's last step fails the job on a non-zero exit code.
#
# Environment: SLASCONE_SYNC_COMMAND (required), SLASCONE_SYNC_DIRECTORY, SLASCONE_SYNC_ARGS
# (split at whitespace; no quoting), SLASCONE_SYNC_COMMENT (`true` or `false`), and GitHub's
# RUNNER_TEMP, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
set -euo pipefail

outputs=${GITHUB_OUTPUT:-/dev/null}

refuse() {
    echo "::error title=slascone-sync::$*" >&2
    echo "exitcode=1" >>"$outputs"
    exit 0
}

command=${SLASCONE_SYNC_COMMAND:-}
directory=${SLASCONE_SYNC_DIRECTORY:-}
comment=${SLASCONE_SYNC_COMMENT:-false}
[[ -n "$command" ]] || refuse "the input \`command\` is required, e.g. plan, apply or validate"
[[ "$command" =~ ^[a-z][a-z-]*$ ]] || refuse "\`$command\` is not a slascone-sync command"
[[ "$comment" == true || "$comment" == false ]] ||
    refuse "the input \`comment\` is \`$comment\`; use true or false"

read -r -d '' -a args <<<"${SLASCONE_SYNC_ARGS:-}" || true

words=("$command")
[[ -z "$directory" ]] || words+=("$directory")
words+=(${args[@]+"${args[@]}"})

# Where this run keeps the plan and the output; unique, since the action may run twice in a job.
runs="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
run_dir=$(mktemp -d "${runs//\\//}/slascone-sync-run.XXXXXX")

markdown=false
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --format=markdown) markdown=true ;;
        --format) [[ "${args[i + 1]:-}" != markdown ]] || markdown=true ;;
    esac
done
if [[ "$comment" == true ]]; then
    [[ "$command" == plan ]] || refuse "\`comment: true\` posts a plan: it needs \`command: plan\`, not \`$command\`"
    for arg in ${args[@]+"${args[@]}"}; do
        [[ "$arg" != --format && "$arg" != --format=* ]] ||
            refuse "with \`comment: true\` the action picks --format markdown; leave --format out of args"
    done
    words+=(--format markdown)
    markdown=true
fi
plan_json=
if [[ "$command" == plan ]]; then
    for arg in ${args[@]+"${args[@]}"}; do
        [[ "$arg" != --out && "$arg" != --out=* ]] ||
            refuse "leave --out out of args: the action saves the JSON plan itself and gives its path as the output plan-json"
    done
    plan_json="$run_dir/plan.json"
    words+=(--out "$plan_json")
fi

echo "slascone-sync ${words[*]}" >&2
set +e
# stdout is kept whole for the summary and the comment; stderr (progress, errors) stays live.
slascone-sync "${words[@]}" 2>&1 >"$run_dir/stdout" | tee "$run_dir/stderr" >&2
code=${PIPESTATUS[0]}
set -e
cat "$run_dir/stdout"

changes=
if [[ -n "$plan_json" && -f "$plan_json" ]]; then
    if command -v jq >/dev/null; then
        changes=$(jq '.changes | length' "$plan_json")
    else
        echo "::warning title=slascone-sync::jq is not installed, so the output \`changes\` stays empty" >&2
    fi
else
    plan_json=
fi

if [[ "$markdown" == true && -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    cat "$run_dir/stdout" >>"$GITHUB_STEP_SUMMARY"
fi

comment_file=
if [[ "$comment" == true ]]; then
    comment_file="$run_dir/comment.md"
    # 0: no changes, 2: changes (--detailed-exitcode); anything else left no plan to show.
    if [[ "$code" -eq 0 || "$code" -eq 2 ]]; then
        cp "$run_dir/stdout" "$comment_file"
    else
        {
            echo "### slascone-sync plan failed (exit $code)"
            echo
            echo '```'
            cat "$run_dir/stderr"
            echo '```'
        } >"$comment_file"
    fi
fi

{
    echo "exitcode=$code"
    echo "plan-json=$plan_json"
    echo "changes=$changes"
    echo "comment-file=$comment_file"
} >>"$outputs"
