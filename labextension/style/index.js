import './base.css';
import './experiments.css';
import './repro.css';
