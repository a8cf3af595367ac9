import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { setApi } from './api';
import { createApi } from './api/client';
import { buildRouter, followSession } from './router';
import { useSession } from './stores/session';
import './styles.css';

const app = createApp(App);
app.use(createPinia());
const session = useSession();
setApi(createApi({ token: () => session.token, unauthorized: () => session.end('expired') }));
// Before the router's first navigation, so a reload of a page does not bounce through login.
if (session.restore()) {
  // The role decides which controls show; a token the server no longer takes ends here via the 401.
  session.loadMe().catch(() => {});
}
const router = buildRouter();
app.use(router);
followSession(router);
app.mount('#app');
