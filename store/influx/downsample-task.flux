// InfluxDB 2.x/3.x equivalent of the 1.x continuous queries made by `npm run influx:setup`:
// hourly mean/min/max/count per device and field of air and noise, into the rollup bucket.
// Apply with: influx task create --file store/influx/downsample-task.flux
// (edit the bucket names if INFLUX_BUCKET is not "city").
option task = {name: "city-rollup-1h", every: 1h, offset: 5m}

src = "city"
dst = "city_rollup"

data = from(bucket: src)
    |> range(start: -2h)
    |> filter(fn: (r) => r._measurement == "air" or r._measurement == "noise")
    |> filter(fn: (r) => r._field != "windowS" and r._field != "receivedAt" and r._field != "late")

agg = (fn, suffix) => data
    |> aggregateWindow(every: 1h, fn: fn, createEmpty: false)
    |> map(fn: (r) => ({r with _measurement: r._measurement + "_1h", _field: r._field + suffix}))
    |> to(bucket: dst)

agg(fn: mean, suffix: "_mean")
agg(fn: min, suffix: "_min")
agg(fn: max, suffix: "_max")
agg(fn: count, suffix: "_count")
