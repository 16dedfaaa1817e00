// Reads a Server-Sent Events stream; marks the first event's arrival in $AGENT_OUT/sse-first before the rest come.
import fs from 'node:fs';
import path from 'node:path';
const res = await fetch(process.argv[2]);
const decoder = new TextDecoder();
let text = '';
let marked = false;
for await (const chunk of res.body) {
  text += decoder.decode(chunk, { stream: true });
  if (!marked && text.includes('data: event 0\n\n')) {
    fs.writeFileSync(path.join(process.env.AGENT_OUT, 'sse-first'), 'seen');
    marked = true;
  }
}
console.log(res.status, (text.match(/^data: /gm) ?? []).length);
