#!/usr/bin/env bash
# Posts the plan as one pull-request comment and updates that comment on every later run, so a
# pull request carries the plan of its latest push and no trail of old ones. The comment is found
# by a marker on its first line that names the manifest directory, so plans of several
# directories keep a comment each.
#
# Environment: COMMENT_FILE (the markdown to post), SLASCONE_SYNC_DIRECTORY, PULL_REQUEST (its
# number), GITHUB_REPOSITORY, and GH_TOKEN for the GitHub CLI, which every GitHub-hosted runner
# has.
set -euo pipefail

fail() {
    echo "::error title=slascone-sync comment::$*" >&2
    exit 1
}

[[ -f "${COMMENT_FILE:-}" ]] || fail "there is no plan to post (COMMENT_FILE=${COMMENT_FILE:-})"
[[ "${PULL_REQUEST:-}" =~ ^[0-9]+$ ]] || fail "\`comment: true\` needs a pull_request event; this run has no pull request"
repository=${GITHUB_REPOSITORY:?}

marker="<!-- slascone-sync plan: ${SLASCONE_SYNC_DIRECTORY:-.} -->"
# The plan leaves 512 characters for this line and its line break (GitHub's limit counts them);
# a longer directory name is named by its digest instead, which finds the same comment again.
if ((${#marker} > 511)); then
    digest=$(printf '%s' "${SLASCONE_SYNC_DIRECTORY}" | sha256sum | cut -d' ' -f1)
    marker="<!-- slascone-sync plan: sha256:$digest -->"
fi
body=$(mktemp)
trap 'rm -f "$body"' EXIT
{
    echo "$marker"
    cat "$COMMENT_FILE"
} >"$body"

listing=$(gh api --paginate "repos/$repository/issues/$PULL_REQUEST/comments?per_page=100" \
    --jq '.[] | "\(.id) \(.body | split("\n") | .[0])"') ||
    fail "could not list the comments of pull request #$PULL_REQUEST"
existing=
while read -r id first_line; do
    # Bodies edited in the web editor come back with CRLF line ends.
    if [[ "${first_line%$'\r'}" == "$marker" ]]; then
        existing=$id
        break
    fi
done <<<"$listing"

if [[ -n "$existing" ]]; then
    gh api --method PATCH "repos/$repository/issues/comments/$existing" -F "body=@$body" >/dev/null ||
        fail "could not update comment $existing; the workflow needs \`permissions: pull-requests: write\`"
    echo "Updated the plan comment on pull request #$PULL_REQUEST"
else
    gh api --method POST "repos/$repository/issues/$PULL_REQUEST/comments" -F "body=@$body" >/dev/null ||
        fail "could not comment on pull request #$PULL_REQUEST; the workflow needs \`permissions: pull-requests: write\`"
    echo "Posted the plan on pull request #$PULL_REQUEST"
fi
