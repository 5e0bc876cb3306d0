#!/usr/bin/env bash
# Lint only the files changed since a commit (default: main), e.g. after a merge:
#   tools/lint-changed.sh            # since `git merge-base HEAD main`
#   tools/lint-changed.sh HEAD~3     # since a given commit
#   tools/lint-changed.sh main --fix # extra arguments go to eslint
# Changed = committed since the commit, plus staged, unstaged and untracked files; deleted files are
# skipped, and so is anything eslint.config.js ignores. Type-aware rules still read the whole
# program through tsconfig.json, so a change that breaks an unchanged file is caught by `npm run lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
since="${1:-}"
[ $# -gt 0 ] && shift
if [ -z "$since" ]; then since="$(git merge-base HEAD main)"; fi
git rev-parse --verify --quiet "$since^{commit}" >/dev/null || { echo "lint-changed: no such commit: $since" >&2; exit 2; }
mapfile -t files < <(
  { git diff --name-only --diff-filter=d "$since" -- ; git ls-files --others --exclude-standard; } |
    grep -E '\.(ts|tsx|js|cjs|mjs)$' | sort -u |
    while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done
)
if [ ${#files[@]} -eq 0 ]; then
  echo "lint-changed: no JavaScript/TypeScript file changed since $since"
  exit 0
fi
echo "lint-changed: ${#files[@]} file(s) changed since $since"
exec npx eslint --max-warnings 0 --no-warn-ignored "$@" -- "${files[@]}"
