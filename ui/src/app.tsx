import { ErrorBoundary, LocationProvider, lazy, Route, Router } from 'preact-iso';
import { Layout } from './components/Layout.tsx';
import { Loading, Problem } from './components/State.tsx';
import { loginUrl } from './lib/api.ts';
import { authError, authState, loadMe } from './models/auth.ts';
import { Agents } from './pages/Agents/index.tsx';
import { Instructions } from './pages/Instructions/index.tsx';
import { JobDetail } from './pages/JobDetail/index.tsx';
import { Jobs } from './pages/Jobs/index.tsx';
import { Models } from './pages/Models/index.tsx';
import { NotFound } from './pages/NotFound/index.tsx';
import { Submit } from './pages/Submit/index.tsx';
import { Webhooks } from './pages/Webhooks/index.tsx';

// One chunk for the app and one, loaded on first visit, for Stats and uPlot (half the JavaScript).
// Splitting every page costs more than it saves: small chunks compress worse (bench/ui.bench.ts).
const Stats = lazy(() => import('./pages/Stats/index.tsx'));

export function Routes() {
  return (
    <ErrorBoundary>
      <Router>
        <Route path="/" component={Jobs} />
        <Route path="/jobs" component={Jobs} />
        <Route path="/jobs/:id" component={JobDetail} />
        <Route path="/submit" component={Submit} />
        <Route path="/models/:name?" component={Models} />
        <Route path="/agents/:name?" component={Agents} />
        <Route path="/instructions/:name?" component={Instructions} />
        <Route path="/webhooks/:name?" component={Webhooks} />
        <Route path="/stats" component={Stats} />
        <Route default component={NotFound} />
      </Router>
    </ErrorBoundary>
  );
}

export function App() {
  const state = authState.value;
  if (state === 'loading') return <Loading label="Checking your session…" />;
  if (state === 'signedOut')
    return (
      <section class="narrow center">
        <h1>Signed out</h1>
        <p>
          <a class="button" href={loginUrl('/jobs')}>
            Sign in again
          </a>
        </p>
      </section>
    );
  if (state === 'error' && authError.value)
    return (
      <section class="narrow center">
        <h1>ai-agents</h1>
        <Problem error={authError.value} retry={() => void loadMe()} />
      </section>
    );
  return (
    <LocationProvider>
      <Layout>
        <Routes />
      </Layout>
    </LocationProvider>
  );
}
