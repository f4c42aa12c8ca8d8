// What a secret shows as wherever a value is printed, logged or stored: log lines, config problems.
export const REDACTED = '[redacted]';
