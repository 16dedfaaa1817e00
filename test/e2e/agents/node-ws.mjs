// A WebSocket round trip with undici's WebSocket (what Node 22's global WebSocket is), through the global dispatcher.
import { WebSocket } from 'undici';
const ws = new WebSocket(process.argv[2]);
const timer = setTimeout(() => {
  console.error('no echo');
  process.exit(1);
}, 20_000);
ws.addEventListener('open', () => ws.send('ping through onecli'));
ws.addEventListener('message', (event) => {
  console.log(`echo: ${String(event.data)}`);
  clearTimeout(timer);
  ws.close();
});
ws.addEventListener('error', (event) => {
  console.error(`websocket error: ${event.message ?? 'unknown'}`);
  process.exit(1);
});
