// The build's second step: tsc emits only JavaScript, so the Lua scripts the stores read at startup
// (src/**/lua/*.lua, see src/infra/lua-scripts.ts) are copied beside it into dist/.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
for (const file of fs.readdirSync(path.join(root, 'src'), { recursive: true })) {
  if (!file.endsWith('.lua')) continue;
  const to = path.join(root, 'dist', 'src', file);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(root, 'src', file), to);
}
