// placeholder: replaced by the command-line entry point
console.log('hsm-ceremony 0.1.0');
