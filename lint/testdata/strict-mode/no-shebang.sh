# want "missing shebang"
set -euo pipefail
echo "hi"
