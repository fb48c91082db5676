export * from './database-bootstrap';
