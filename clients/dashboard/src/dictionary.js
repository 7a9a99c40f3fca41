// The data dictionary page: the server writes the dictionary (escaped
// HTML, docs/dashboard.md, "The data dictionary"); this page only asks for it with the admin
// token, which it keeps as the dashboard does.
'use strict';

const state = { token: sessionStorage.getItem('funnelhouse.token') || '' };

async function load() {
  const main = document.getElementById('dictionary');
  main.dataset.state = 'loading';
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const response = await fetch('/api/dictionary', { headers });
  if (response.status === 401) {
    document.getElementById('login').hidden = false;
    main.textContent = '';
    main.dataset.state = 'login';
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    main.textContent = `${body.error || response.status}: ${body.message || ''}`;
    main.dataset.state = 'error';
    return;
  }
  main.innerHTML = await response.text();
  document.getElementById('login').hidden = true;
  main.dataset.state = 'ready';
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

function start() {
  // A token in the fragment (#token=...) never reaches a server log.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    state.token = fragment.get('token');
    sessionStorage.setItem('funnelhouse.token', state.token);
    history.replaceState(null, '', location.pathname);
  }
  document.getElementById('login').addEventListener('submit', (event) => {
    event.preventDefault();
    state.token = document.getElementById('token').value;
    sessionStorage.setItem('funnelhouse.token', state.token);
    load();
  });
  load();
}

document.addEventListener('DOMContentLoaded', start);
