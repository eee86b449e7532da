import { render } from 'preact';
import { App } from './app.tsx';
import { loadMe } from './models/auth.ts';
import './style.css';

void loadMe();
render(<App />, document.getElementById('app')!);
