package dashboard

import (
	"time"

	"github.com/ibiki/ibiki/internal/store"
)

// trafficChart lays out a bar chart of messages in and out per hour, as plain numbers for the
// SVG template: no JavaScript, nothing from outside the server.
type trafficChart struct {
	Width, Height, Base, LabelY int
	Bars                        []trafficBar
	In, Out, Max, Attempts      int64
	AvgLatency, MaxLatency      time.Duration
	// Delivered and its latencies: outbound SMS from acceptance to the delivery report.
	Delivered                int64
	DeliveryAvg, DeliveryMax time.Duration
	First, Last              string
}

type trafficBar struct {
	X, X2, W, InY, InH, OutY, OutH int
	In, Out                        int64
	Label                          string
}

func chart(hours []store.HourTraffic) *trafficChart {
	if len(hours) == 0 {
		return nil
	}
	const width, plot = 720, 120
	c := &trafficChart{Width: width, Height: plot + 20, Base: plot, LabelY: plot + 16}
	var latencySum, deliverySum time.Duration
	for _, h := range hours {
		c.Delivered += h.Delivered
		deliverySum += h.DeliveryAvg * time.Duration(h.Delivered)
		c.DeliveryMax = max(c.DeliveryMax, h.DeliveryMax)
		c.In, c.Out, c.Max = c.In+h.In, c.Out+h.Out, max(c.Max, h.In, h.Out)
		c.Attempts += h.Attempts
		latencySum += h.AvgLatency * time.Duration(h.Attempts)
		c.MaxLatency = max(c.MaxLatency, h.MaxLatency)
	}
	if c.Delivered > 0 {
		c.DeliveryAvg = (deliverySum / time.Duration(c.Delivered)).Round(time.Millisecond)
	}
	if c.Attempts > 0 {
		c.AvgLatency = (latencySum / time.Duration(c.Attempts)).Round(time.Millisecond)
	}
	step := width / len(hours)
	w := max(step/2-1, 1)
	scale := func(n int64) int {
		if c.Max == 0 {
			return 0
		}
		return int(n * (plot - 14) / c.Max)
	}
	for i, h := range hours {
		b := trafficBar{X: i * step, X2: i*step + w, W: w, In: h.In, Out: h.Out, Label: h.Hour.UTC().Format("15:04")}
		b.InH, b.OutH = scale(h.In), scale(h.Out)
		b.InY, b.OutY = plot-b.InH, plot-b.OutH
		c.Bars = append(c.Bars, b)
	}
	c.First, c.Last = hours[0].Hour.UTC().Format("15:04 UTC"), hours[len(hours)-1].Hour.UTC().Format("15:04 UTC")
	return c
}
