// /chat/: the entry form. It goes to /chat/ROOM/, with the nick (if any) in the query.

const form = document.getElementById('enter') as HTMLFormElement;
const room = document.getElementById('room') as HTMLInputElement;
const nick = document.getElementById('nick') as HTMLInputElement;

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = room.value.trim();
  if (!name) return;
  const query = nick.value.trim() ? `?nick=${encodeURIComponent(nick.value.trim())}` : '';
  location.assign(`/chat/${encodeURIComponent(name)}/${query}`);
});
