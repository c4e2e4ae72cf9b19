curl https://prikke.eu/api/v1/jobs \
  -H "Authorization: Bearer $PRIKKE_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
        "name": "Nightly invoice run",
        "url": "https://example.com/hooks/invoices",
        "method": "POST",
        "schedule": {"kind": "cron", "expr": "0 2 * * *", "timezone": "Europe/Oslo"}
      }'
