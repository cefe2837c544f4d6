// The demo catalog: deterministic ids (p-0001…), SKUs, prices in cents and initial stock.
// Applied at start when SEED_CATALOG=true; re-applying changes nothing (ON CONFLICT DO NOTHING).

export interface SeedProduct {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  priceAmount: number;
  currency: 'USD';
  imageUrl: string;
  initialStock: number;
}

type Row = [name: string, description: string, priceAmount: number, initialStock: number];

const BY_CATEGORY: Record<string, { prefix: string; rows: Row[] }> = {
  books: {
    prefix: 'BK',
    rows: [
      [
        'Designing Data-Intensive Applications',
        'The big ideas behind reliable, scalable and maintainable systems, by Martin Kleppmann.',
        4599,
        40,
      ],
      [
        'Release It! (2nd edition)',
        'Design and deploy production-ready software: stability patterns, circuit breakers and bulkheads.',
        3999,
        25,
      ],
      [
        'Building Microservices (2nd edition)',
        'Sam Newman on designing fine-grained systems: boundaries, integration, deployment and testing.',
        5499,
        30,
      ],
      [
        'Enterprise Integration Patterns',
        'Designing, building and deploying messaging solutions; the classic pattern catalogue.',
        6299,
        12,
      ],
      [
        'The Pragmatic Programmer',
        'Your journey to mastery, 20th anniversary edition. Practical advice for working developers.',
        4299,
        60,
      ],
      [
        'Site Reliability Engineering',
        'How Google runs production systems: SLOs, toil, monitoring, incident response.',
        3899,
        35,
      ],
      [
        'Database Internals',
        'A deep dive into how distributed data systems work: storage engines and consensus.',
        4799,
        18,
      ],
      ['Clean Architecture', "A craftsman's guide to software structure and design, by Robert C. Martin.", 3499, 45],
      ['The Hobbit', "J.R.R. Tolkien's classic adventure of Bilbo Baggins, illustrated paperback edition.", 1299, 100],
      ['Dune', "Frank Herbert's epic of politics, ecology and prophecy on the desert planet Arrakis.", 1599, 80],
    ],
  },
  electronics: {
    prefix: 'EL',
    rows: [
      [
        'Noise-Cancelling Headphones',
        'Over-ear wireless headphones with active noise cancelling and 30-hour battery life.',
        24999,
        20,
      ],
      ['Mechanical Keyboard', 'Tenkeyless keyboard with hot-swappable tactile switches and PBT keycaps.', 12999, 30],
      [
        '27" 4K Monitor',
        'IPS panel, 3840×2160, USB-C with 65 W power delivery and a height-adjustable stand.',
        38999,
        8,
      ],
      ['Wireless Mouse', 'Ergonomic mouse with silent clicks, 4000 DPI sensor and a USB-C receiver.', 4999, 75],
      [
        'USB-C Hub 7-in-1',
        'HDMI 4K60, two USB-A, SD and microSD readers, gigabit Ethernet and 100 W pass-through.',
        5999,
        50,
      ],
      ['Portable SSD 1 TB', 'Pocket-sized NVMe drive with read speeds up to 1050 MB/s over USB 3.2.', 10999, 25],
      ['Smart Watch', 'Fitness tracking, heart-rate and sleep monitoring, GPS and a seven-day battery.', 19999, 15],
      ['Bluetooth Speaker', 'Waterproof portable speaker with 360° sound and 12 hours of playback.', 7999, 40],
      ['Webcam 1080p', 'Full HD webcam with autofocus, stereo microphones and a privacy shutter.', 6999, 35],
      ['E-Reader', '6.8" glare-free display, adjustable warm light and weeks of battery life.', 14999, 5],
    ],
  },
  home: {
    prefix: 'HM',
    rows: [
      ['Pour-Over Coffee Set', 'Glass carafe, stainless steel dripper and reusable filter for a clean cup.', 3999, 40],
      ['Cast Iron Skillet 10"', 'Pre-seasoned cast iron pan that goes from stovetop to oven to table.', 2999, 55],
      ['Linen Duvet Cover', 'Stonewashed French linen, queen size, in natural oat.', 14999, 12],
      ['Chef\'s Knife 8"', 'High-carbon stainless steel blade with a full tang and a balanced handle.', 8999, 20],
      [
        'Ceramic Dinner Plates (set of 4)',
        'Handmade stoneware plates with a reactive glaze; dishwasher safe.',
        5499,
        30,
      ],
      ['Desk Lamp', 'Dimmable LED desk lamp with adjustable colour temperature and a USB charging port.', 4599, 45],
      ['Electric Kettle', '1.7 L kettle with temperature presets for green tea, oolong and coffee.', 6999, 25],
      ['Indoor Plant Pot', 'Self-watering ceramic planter, 20 cm, with a water level indicator.', 2499, 70],
      ['Wool Throw Blanket', 'Soft merino wool throw, 130×170 cm, in charcoal herringbone.', 7999, 18],
      ['Bamboo Cutting Board', 'Large reversible cutting board with a juice groove and side handles.', 2799, 65],
    ],
  },
  toys: {
    prefix: 'TY',
    rows: [
      ['Wooden Train Set', '52-piece wooden railway with bridges, a tunnel and magnetic carriages.', 5999, 20],
      ['Building Bricks Starter Box', '500 classic bricks in 30 colours with wheels, windows and doors.', 3499, 60],
      ['Remote Control Car', 'Off-road 1:16 RC buggy with rechargeable battery, up to 25 km/h.', 4999, 25],
      ['1000-Piece Jigsaw Puzzle', 'A hand-painted map of the world; finished size 68×48 cm.', 1999, 45],
      ['Plush Bear', 'Soft cuddly teddy bear, 35 cm, machine washable.', 2499, 90],
      ['Kids Science Kit', 'Twenty experiments: crystals, volcanoes, slime and a mini weather station.', 3999, 30],
      ['Strategy Board Game', 'Trade, build and settle an island; for 3–4 players aged 10 and up.', 4499, 35],
      ['Kite', 'Easy-to-fly delta kite with a 30 m line and a carry bag.', 1799, 50],
    ],
  },
  sports: {
    prefix: 'SP',
    rows: [
      ['Yoga Mat', '6 mm non-slip TPE mat with alignment lines and a carry strap.', 3499, 60],
      ['Adjustable Dumbbells', 'Pair of dumbbells adjustable from 2.5 to 24 kg with a quick-select dial.', 29999, 6],
      ['Running Shoes', 'Lightweight neutral trainers with a responsive foam midsole.', 11999, 40],
      ['Water Bottle 750 ml', 'Insulated stainless steel bottle that keeps drinks cold for 24 hours.', 2999, 100],
      ['Tennis Racket', 'Graphite racket, 300 g, strung with a multifilament string.', 15999, 15],
      ['Football', 'Size 5 match ball, thermally bonded panels for a true flight.', 3999, 45],
      [
        'Resistance Bands (set of 5)',
        'Latex bands from extra light to extra heavy, with handles and a door anchor.',
        2499,
        80,
      ],
      ['Cycling Helmet', 'Lightweight road helmet with MIPS protection and 18 vents.', 8999, 20],
      ['Jump Rope', 'Speed rope with ball-bearing handles and an adjustable steel cable.', 1499, 70],
      ['Camping Tent (2-person)', 'Freestanding three-season tent, 2.1 kg, with two doors and vestibules.', 18999, 10],
    ],
  },
};

function buildSeed(): SeedProduct[] {
  const products: SeedProduct[] = [];
  for (const [category, { prefix, rows }] of Object.entries(BY_CATEGORY)) {
    rows.forEach(([name, description, priceAmount, initialStock], index) => {
      const id = `p-${String(products.length + 1).padStart(4, '0')}`;
      products.push({
        id,
        sku: `${prefix}-${String(index + 1).padStart(3, '0')}`,
        name,
        description,
        category,
        priceAmount,
        currency: 'USD',
        imageUrl: `https://picsum.photos/seed/shoplab-${id}/400/300`,
        initialStock,
      });
    });
  }
  return products;
}

export const SEED_PRODUCTS: readonly SeedProduct[] = buildSeed();
